// Bad input through the real server: every case is a clear 4xx with a stable code, and
// nothing is stored (no version, no blob).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rawTar, type RawEntry } from '../support/archive/raw-tar-fixture.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform({ env: { SLIPWAY_MAX_UPLOAD_BYTES: '200000', SLIPWAY_MAX_FILES: '20', SLIPWAY_MAX_UNPACKED_BYTES: '300000' } });
  await platform.client.createDeployment({ slug: 'target' });
});
after(async () => platform?.stop());

async function api(method: string, path: string, init: { body?: string | Buffer; type?: string; token?: string | null } = {}) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? platform.token}`;
  if (init.type) headers['content-type'] = init.type;
  const res = await fetch(`${platform.apiUrl}${path}`, { method, headers, body: init.body });
  const json = (await res.json()) as { data?: unknown; error?: { code: string; message: string; details: Record<string, unknown>; request_id: string } };
  return { status: res.status, json };
}

async function blobCount(): Promise<number> {
  const root = join(platform.home, 'blobs', 'sha256');
  let n = 0;
  for (const d of await readdir(root).catch(() => [])) n += (await readdir(join(root, d)).catch(() => [])).length;
  return n;
}

async function assertNothingStored(blobsBefore: number) {
  const versions = await platform.client.listVersions('target');
  assert.equal(versions.data.length, 0, 'no version was created');
  assert.equal(await blobCount(), blobsBefore, 'no blob was stored');
}

test('auth: a missing or wrong key is 401 unauthorized', async () => {
  for (const token of [null, 'sk_wrong']) {
    const r = await api('GET', '/api/v1/deployments', { token });
    assert.equal(r.status, 401);
    assert.equal(r.json.error?.code, 'unauthorized');
    assert.match(r.json.error?.request_id ?? '', /^req_/);
  }
});

test('auth: the internal key of the edge and agents opens nothing but the internal endpoints', async () => {
  for (const [method, path] of [['GET', '/api/v1/deployments'], ['GET', '/api/v1/deployments/target/env'], ['POST', '/api/v1/deployments/target/redeploy']]) {
    const r = await api(method!, path!, { token: platform.internalToken, ...(method === 'POST' ? { body: '{}', type: 'application/json' } : {}) });
    assert.equal(r.status, 403, `${method} ${path}`);
    assert.equal(r.json.error?.code, 'forbidden');
  }
  const own = await api('GET', '/api/v1/internal/hosts/local/assignments?wait_ms=0', { token: platform.internalToken });
  assert.equal(own.status, 200, 'its own endpoints still answer');
});

test('invalid slugs, malformed JSON and bad fields name the problem', async () => {
  const bad = await api('POST', '/api/v1/deployments', { body: JSON.stringify({ slug: 'Not_A_Slug' }), type: 'application/json' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error?.code, 'invalid_slug');
  const malformed = await api('POST', '/api/v1/deployments', { body: '{"slug": ', type: 'application/json' });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.error?.code, 'invalid_json');
  const field = await api('POST', '/api/v1/deployments', { body: JSON.stringify({ slug: 'ok', spa_fallback: 'yes' }), type: 'application/json' });
  assert.equal(field.status, 400);
  assert.equal(field.json.error?.code, 'invalid_request');
  assert.equal(field.json.error?.details.field, 'spa_fallback');
  const exists = await api('POST', '/api/v1/deployments', { body: JSON.stringify({ slug: 'target' }), type: 'application/json' });
  assert.equal(exists.status, 409);
  assert.equal(exists.json.error?.code, 'deployment_exists');
});

test('unknown deployments, versions and routes are 404 with their own codes', async () => {
  assert.equal((await api('GET', '/api/v1/deployments/nope')).json.error?.code, 'deployment_not_found');
  assert.equal((await api('GET', '/api/v1/deployments/target/versions/7')).json.error?.code, 'version_not_found');
  const rb = await api('POST', '/api/v1/deployments/target/rollback', { body: JSON.stringify({ to: 3 }), type: 'application/json' });
  assert.equal(rb.status, 404);
  assert.equal(rb.json.error?.code, 'version_not_found');
  assert.equal((await api('GET', '/api/v1/nothing-here')).status, 404);
});

const unsafe: Array<[string, RawEntry[]]> = [
  ['absolute path', [{ name: 'index.html', body: 'ok' }, { name: '/etc/evil', body: 'x' }]],
  ['dot-dot', [{ name: 'index.html', body: 'ok' }, { name: 'a/../../evil', body: 'x' }]],
  ['symlink escaping the root', [{ name: 'index.html', body: 'ok' }, { name: 'link', type: '2', linkname: '../../etc/passwd' }]],
  ['hardlink', [{ name: 'index.html', body: 'ok' }, { name: 'hard', type: '1', linkname: 'index.html' }]],
  ['character device', [{ name: 'index.html', body: 'ok' }, { name: 'dev', type: '3' }]],
  ['fifo', [{ name: 'index.html', body: 'ok' }, { name: 'pipe', type: '6' }]],
];

for (const [what, entries] of unsafe) {
  test(`an archive with a ${what} is refused whole as unsafe_archive`, async () => {
    const before = await blobCount();
    for (const [body, type] of [[rawTar(entries), 'application/x-tar'], [gzipSync(rawTar(entries)), 'application/gzip']] as const) {
      const r = await api('POST', '/api/v1/deployments/target/publish', { body, type });
      assert.equal(r.status, 400, JSON.stringify(r.json));
      assert.equal(r.json.error?.code, 'unsafe_archive');
    }
    await assertNothingStored(before);
  });
}

test('limits: upload size, unpacked size and file count are 413', async () => {
  const before = await blobCount();
  const big = await api('POST', '/api/v1/deployments/target/publish', { body: Buffer.alloc(300_000, 1), type: 'application/x-tar' });
  assert.equal(big.status, 413);
  assert.equal(big.json.error?.code, 'payload_too_large');
  const many = rawTar(Array.from({ length: 25 }, (_, i) => ({ name: `f${i}.txt`, body: 'x' })));
  const tooMany = await api('POST', '/api/v1/deployments/target/publish', { body: many, type: 'application/x-tar' });
  assert.equal(tooMany.status, 413);
  assert.equal(tooMany.json.error?.code, 'too_many_files');
  // Fits the 200 kB upload limit compressed, unpacks past the 300 kB limit.
  const bomb = gzipSync(rawTar([{ name: 'a.txt', body: randomBytes(60_000).toString('base64') }, { name: 'b.bin', body: Buffer.alloc(300_000) }]));
  assert.ok(bomb.length < 200_000);
  const unpacked = await api('POST', '/api/v1/deployments/target/publish', { body: bomb, type: 'application/gzip' });
  assert.equal(unpacked.status, 413);
  assert.equal(unpacked.json.error?.code, 'archive_too_large');
  await assertNothingStored(before);
});

test('garbage, empty sources, wrong media types and bad file maps are 4xx', async () => {
  const before = await blobCount();
  const garbage = await api('POST', '/api/v1/deployments/target/publish', { body: Buffer.from('definitely not a tar archive'.repeat(40)), type: 'application/x-tar' });
  assert.equal(garbage.status, 400);
  assert.equal(garbage.json.error?.code, 'invalid_archive');
  const empty = await api('POST', '/api/v1/deployments/target/publish', { body: rawTar([]), type: 'application/x-tar' });
  assert.equal(empty.json.error?.code, 'empty_source');
  const media = await api('POST', '/api/v1/deployments/target/publish', { body: 'x', type: 'text/plain' });
  assert.equal(media.status, 415);
  assert.equal(media.json.error?.code, 'unsupported_media_type');
  const map = await api('POST', '/api/v1/deployments/target/publish', { body: JSON.stringify({ files: { '../x': 'y' } }), type: 'application/json' });
  assert.equal(map.json.error?.code, 'unsafe_archive');
  const field = await api('POST', '/api/v1/deployments/target/publish', { body: JSON.stringify({ files: { a: { content: 'x', encoding: 'rot13' } } }), type: 'application/json' });
  assert.equal(field.status, 400);
  assert.equal(field.json.error?.code, 'invalid_request');
  assert.match(String(field.json.error?.details.field), /files\.a/);
  await assertNothingStored(before);
});

test('a cursor that no page gave out is 400 invalid_request, not the first page again', async () => {
  for (const path of ['/api/v1/deployments', '/api/v1/deployments/target/versions', '/api/v1/deployments/target/events']) {
    const r = await api('GET', `${path}?cursor=garbage`);
    assert.equal(r.status, 400, path);
    assert.equal(r.json.error?.code, 'invalid_request', path);
    assert.equal(r.json.error?.details.field, 'cursor', path);
  }
  // The control: a real next_cursor still pages.
  await platform.client.createDeployment({ slug: 'cursor-control' });
  const first = await api('GET', '/api/v1/deployments?limit=1');
  const next = (first.json as unknown as { next_cursor: string | null }).next_cursor;
  assert.ok(next, 'there is more than one deployment');
  const second = await api('GET', `/api/v1/deployments?limit=1&cursor=${next}`);
  assert.equal(second.status, 200);
  assert.notDeepEqual(second.json.data, first.json.data, 'the next page, not the first again');
});

test('reserved slugs are refused with invalid_slug', async () => {
  for (const slug of ['api', 'admin', 'internal', 'www', 'localhost']) {
    const r = await api('POST', '/api/v1/deployments', { body: JSON.stringify({ slug }), type: 'application/json' });
    assert.equal(r.status, 400, slug);
    assert.equal(r.json.error?.code, 'invalid_slug', slug);
    assert.match(r.json.error?.message ?? '', /reserved/, slug);
  }
});
