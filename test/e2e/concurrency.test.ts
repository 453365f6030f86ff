// Publishes to one deployment queue in order; idempotent retries replay instead of redoing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPlatform, type Platform } from '../support/platform.js';
import { waitFor } from '../../src/util/wait-for.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
});
after(async () => platform?.stop());

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read raw wire JSON
type Wire = any;

async function publishRaw(slug: string, body: unknown, opts: { headers?: Record<string, string>; query?: string } = {}) {
  const { headers = {}, query = '' } = opts;
  const res = await fetch(`${platform.apiUrl}/api/v1/deployments/${slug}/publish${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), json: (await res.json()) as Wire };
}

test('concurrent publishes to one deployment get distinct numbers and promote in order', async () => {
  await platform.client.createDeployment({ slug: 'queue' });
  // A build command that takes a moment, so the publishes really overlap.
  const n = 5;
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      publishRaw('queue', { files: { 'index.html': `v-${i}` }, build_command: 'sleep 0.2; mkdir -p out; cp index.html out/', output_path: 'out' }),
    ),
  );
  for (const a of answers) assert.equal(a.status, 202, JSON.stringify(a.json));
  const numbers = answers.map((a) => a.json.data.version.version_number).sort((a: number, b: number) => a - b);
  assert.deepEqual(numbers, [1, 2, 3, 4, 5]);
  await waitFor(async () => (await platform.client.getDeployment('queue')).state === 'active', { timeoutMs: 60_000, description: 'all built' });
  const failed = (await platform.client.listVersions('queue')).data.filter((v) => v.state !== 'ready');
  assert.deepEqual(failed.map((v) => `v${v.version_number}: ${v.error?.message}`), [], 'every version builds');
  const dep = await platform.client.getDeployment('queue');
  assert.equal(dep.active_version_number, 5, 'the last accepted publish ends up active');
  const events = await platform.client.listEvents('queue', { limit: 100 });
  const promoted = events.data.filter((e) => e.type === 'deployment.promoted').map((e) => e.data.version_number).reverse();
  assert.deepEqual(promoted, [1, 2, 3, 4, 5], 'promotions happen in version order');
  const starts = events.data.filter((e) => e.type === 'version.building').reverse();
  const readies = events.data.filter((e) => e.type === 'version.ready').reverse();
  for (let i = 1; i < n; i++) assert.ok(starts[i]!.id > readies[i - 1]!.id, 'one build at a time per deployment');
  // Numbers follow arrival order at the server, not array order: find which body got v5.
  const last = answers.findIndex((a) => a.json.data.version.version_number === 5);
  const served = await waitFor(async () => {
    const r = await platform.edge('queue.localhost');
    return r.text === `v-${last}` ? r : undefined;
  }, { description: 'the last version served' });
  assert.equal(served.status, 200);
});

test('publishes to different deployments run in parallel', async () => {
  await platform.client.createDeployment({ slug: 'par-a' });
  await platform.client.createDeployment({ slug: 'par-b' });
  // Each build stamps when it ran; overlapping intervals prove they ran at once, however
  // loaded the machine is.
  const body = (s: string) => ({
    files: { 'index.html': s },
    build_command: 'mkdir -p out; cp index.html out/; date +%s%N > out/start.txt; sleep 1.5; date +%s%N > out/end.txt',
    output_path: 'out',
  });
  const [a, b] = await Promise.all([publishRaw('par-a', body('a'), { query: '?wait=true' }), publishRaw('par-b', body('b'), { query: '?wait=true' })]);
  assert.equal(a.json.data.version.state, 'ready', JSON.stringify(a.json.data.version.error));
  assert.equal(b.json.data.version.state, 'ready', JSON.stringify(b.json.data.version.error));
  const stamp = async (slug: string, file: string) => BigInt((await platform.edge(`v1--${slug}.localhost`, `/${file}`)).text.trim());
  const [aStart, aEnd, bStart, bEnd] = await Promise.all([stamp('par-a', 'start.txt'), stamp('par-a', 'end.txt'), stamp('par-b', 'start.txt'), stamp('par-b', 'end.txt')]);
  assert.ok(aStart < bEnd && bStart < aEnd, `the builds overlapped: a ${aStart}–${aEnd}, b ${bStart}–${bEnd}`);
});

test('Idempotency-Key: same request replays, another request is 409', async () => {
  await platform.client.createDeployment({ slug: 'idem' });
  const body = { files: { 'index.html': 'once' } };
  const [first, concurrent] = await Promise.all([
    publishRaw('idem', body, { headers: { 'idempotency-key': 'k-1' } }),
    publishRaw('idem', body, { headers: { 'idempotency-key': 'k-1' } }),
  ]);
  assert.equal(first.json.data.version.id, concurrent.json.data.version.id, 'a concurrent retry gets the same version');
  const later = await publishRaw('idem', body, { headers: { 'idempotency-key': 'k-1' }, query: '?wait=true' });
  assert.equal(later.replayed, 'true');
  assert.equal(later.json.data.version.id, first.json.data.version.id);
  assert.equal(later.json.data.version.state, 'ready');
  const versions = await platform.client.listVersions('idem');
  assert.equal(versions.data.length, 1, 'no new work for the replays');
  const other = await publishRaw('idem', { files: { 'index.html': 'different' } }, { headers: { 'idempotency-key': 'k-1' } });
  assert.equal(other.status, 409);
  assert.equal(other.json.error.code, 'idempotency_key_reused');
  // Rollback honours keys the same way.
  const rb = async (to: number) => fetch(`${platform.apiUrl}/api/v1/deployments/idem/rollback`, {
    method: 'POST', headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/json', 'idempotency-key': 'rb-1' }, body: JSON.stringify({ to }),
  });
  assert.equal((await rb(1)).status, 200);
  const again = await rb(1);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal((await rb(2)).status, 409);
});
