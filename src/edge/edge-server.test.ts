import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { defer, startEdge, tempDir, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { startFakeControlPlane, testRoute } from '../../test/support/edge/fake-control-plane.js';
import { releaseFilePath } from './release-source.js';
import { get} from '../../test/support/edge/test-helpers.js';
import { waitFor } from '../util/wait-for.js';

test('serves active and preview hosts from the route stream; health; unknown hosts', async (t) => {
  const fake = await withFake(t);
  const [v1, v2] = [versionRelease(1), versionRelease(2)];
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  const revision = fake.upsert(testRoute('shop', [v1.sha256, v2.sha256]));
  fake.upsert(testRoute('draft', [v1.sha256], { active: null }));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(revision + 1);
  // The edge tells the server which revision it fully serves, under one stable edge id.
  await waitFor(() => fake.acks.some((a) => a.revision === revision + 1), { description: 'the ack of the applied revision' });
  assert.equal(new Set(fake.acks.map((a) => a.edge_id)).size, 1);

  assert.match((await get(port, '/', { host: 'shop.localhost:8080' })).body.toString(), /version 2/);
  assert.match((await get(port, '/', { host: 'SHOP.LOCALHOST' })).body.toString(), /version 2/);
  assert.match((await get(port, '/', { host: 'v1--shop.localhost' })).body.toString(), /version 1/);
  assert.match((await get(port, '/app.js', { host: 'v2--shop.localhost' })).body.toString(), /version = 2/);
  assert.match((await get(port, '/', { host: 'v1--draft.localhost' })).body.toString(), /version 1/);

  const notFound = (await get(port, '/', { host: 'nope.localhost' })).body.toString();
  for (const host of ['nope.localhost', 'draft.localhost', 'v9--shop.localhost', 'shop.example.com', '127.0.0.1']) {
    const res = await get(port, '/', { host });
    assert.equal(res.status, 404, host);
    assert.equal(res.body.toString(), notFound, `${host}: the same neutral page for every miss`);
  }
  for (const host of ['anything.example', 'shop.localhost']) {
    const health = await get(port, '/_slipway/health', { host });
    assert.equal(health.status, 200);
    assert.equal(health.body.toString(), 'ok');
  }
  assert.equal((await get(port, '/_slipway/health?x=1', { host: 'nope.localhost' })).status, 404);

  await edge.routes.waitForRevision(fake.remove('dep_shop'));
  assert.equal((await get(port, '/', { host: 'shop.localhost' })).status, 404);
});

test('a release that fails to load keeps the old one serving until a retry succeeds', async (t) => {
  const fake = await withFake(t);
  const [v1, v2] = [versionRelease(1), versionRelease(2)];
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  fake.upsert(testRoute('site', [v1.sha256]));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);

  fake.failBlobs = true;
  const revision = fake.upsert(testRoute('site', [v1.sha256, v2.sha256]));
  await waitFor(() => (fake.blobRequests.get(v2.sha256) ?? 0) >= 2, { description: 'failed download attempts' });
  assert.ok(edge.routes.revision < revision);
  const during = await get(port, '/', { host: 'site.localhost' });
  assert.equal(during.status, 200);
  assert.match(during.body.toString(), /version 1/);
  // The route changes as a whole: its new preview appears together with the new release.
  assert.equal((await get(port, '/', { host: 'v2--site.localhost' })).status, 404);

  fake.failBlobs = false;
  await edge.routes.waitForRevision(revision);
  assert.match((await get(port, '/', { host: 'site.localhost' })).body.toString(), /version 2/);

  // A preview whose release cannot be had right now: a neutral 503, the site unaffected.
  const lost = 'c'.repeat(64);
  await edge.routes.waitForRevision(fake.upsert(testRoute('site', [v1.sha256, v2.sha256, lost], { active: 2 })));
  const preview = await get(port, '/', { host: 'v3--site.localhost' });
  assert.equal(preview.status, 503);
  assert.equal(preview.headers['cache-control'], 'no-store');
  assert.match((await get(port, '/', { host: 'site.localhost' })).body.toString(), /version 2/);
});

test('a slow download delays only its own route', async (t) => {
  const fake = await withFake(t);
  const [v1, v2] = [versionRelease(1), versionRelease(2)];
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  fake.upsert(testRoute('slow', [v1.sha256]));
  fake.upsert(testRoute('quick', [v2.sha256]));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);
  let open: () => void = () => {};
  fake.blobGate = new Promise((resolve) => (open = resolve));
  const big = versionRelease(3);
  fake.blobs.set(big.sha256, big.tar);
  fake.upsert(testRoute('slow', [v1.sha256, big.sha256]));
  // A rollback-like switch to a release already in memory is not held behind the download.
  const revision = fake.upsert(testRoute('quick', [v2.sha256, v1.sha256]));
  await waitFor(async () => /version 1/.test((await get(port, '/', { host: 'quick.localhost' })).body.toString()), { description: 'quick to switch' });
  assert.match((await get(port, '/', { host: 'slow.localhost' })).body.toString(), /version 1/);
  assert.ok(edge.routes.revision < revision);
  open();
  await edge.routes.waitForRevision(revision);
  assert.match((await get(port, '/', { host: 'slow.localhost' })).body.toString(), /version 3/);
});

test('reconnects after the stream drops and applies the new snapshot', async (t) => {
  const fake = await withFake(t);
  const [v1, v2] = [versionRelease(1), versionRelease(2)];
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  fake.upsert(testRoute('a', [v1.sha256]));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);
  await waitFor(() => fake.streams === 1, { description: 'an open stream' });
  fake.dropStreams();
  // Changed while the edge is away: only the next snapshot can tell it.
  fake.upsert(testRoute('b', [v2.sha256]));
  await edge.routes.waitForRevision(fake.revision);
  assert.match((await get(port, '/', { host: 'b.localhost' })).body.toString(), /version 2/);
  assert.match((await get(port, '/', { host: 'a.localhost' })).body.toString(), /version 1/);
});

test('a restarted edge serves from disk with the server down, and refetches a corrupt cache', async (t) => {
  const fake = await withFake(t);
  const stateDir = await tempDir(t);
  const [v1, v2] = [versionRelease(1), versionRelease(2)];
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  fake.upsert(testRoute('one', [v1.sha256]));
  fake.upsert(testRoute('two', [v1.sha256, v2.sha256]));
  const first = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir });
  await first.edge.routes.waitForRevision(fake.revision);
  assert.equal((await get(first.port, '/', { host: 'v1--two.localhost' })).status, 200);
  await first.edge.close();

  // Server down: nothing listens on this address any more.
  const deadUrl = fake.url;
  await fake.close();
  const offline = await startEdge(t, { serverUrl: deadUrl, token: fake.token, stateDir });
  assert.match((await get(offline.port, '/', { host: 'one.localhost' })).body.toString(), /version 1/);
  assert.match((await get(offline.port, '/', { host: 'two.localhost' })).body.toString(), /version 2/);
  assert.match((await get(offline.port, '/', { host: 'v1--two.localhost' })).body.toString(), /version 1/);
  await offline.edge.close();

  // Server back, but the disk copy of v2 rotted: it is deleted and fetched again.
  const revived = await startFakeControlPlane();
  defer(t, () => revived.close());
  revived.blobs.set(v1.sha256, v1.tar);
  revived.blobs.set(v2.sha256, v2.tar);
  revived.upsert(testRoute('one', [v1.sha256]));
  revived.upsert(testRoute('two', [v1.sha256, v2.sha256]));
  await writeFile(releaseFilePath(stateDir, v2.sha256), 'garbage');
  const healed = await startEdge(t, { serverUrl: revived.url, token: revived.token, stateDir });
  assert.match((await get(healed.port, '/', { host: 'one.localhost' })).body.toString(), /version 1/);
  await waitFor(async () => (await get(healed.port, '/', { host: 'two.localhost' })).status === 200, { description: 'v2 refetched' });
  assert.match((await get(healed.port, '/', { host: 'two.localhost' })).body.toString(), /version 2/);
  assert.equal(revived.blobRequests.get(v2.sha256), 1);
  assert.equal(revived.blobRequests.get(v1.sha256), undefined);
});

test('close lets in-flight requests finish, then stops', async (t) => {
  const fake = await withFake(t);
  const [v1, v2] = [versionRelease(1), versionRelease(2)];
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  fake.upsert(testRoute('site', [v1.sha256, v2.sha256], { active: 2 }));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);
  let open: () => void = () => {};
  fake.blobGate = new Promise((resolve) => (open = resolve));
  // A first preview request waits on a slow download while the edge is asked to close.
  const inFlight = get(port, '/', { host: 'v1--site.localhost' });
  await waitFor(() => fake.blobRequests.get(v1.sha256) === 1, { description: 'the download to start' });
  const closing = edge.close();
  open();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.match(res.body.toString(), /version 1/);
  await closing;
  await assert.rejects(get(port, '/_slipway/health'));
});

test('close finishes promptly with idle keep-alive connections open', async (t) => {
  const fake = await withFake(t);
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  const agent = new Agent({ keepAlive: true });
  defer(t, () => agent.destroy());
  assert.equal((await get(port, '/_slipway/health', { agent })).status, 200);
  const started = Date.now();
  await edge.close();
  assert.ok(Date.now() - started < 2_000, 'idle keep-alive sockets do not hold close() open');
  await assert.rejects(get(port, '/_slipway/health'));
});
