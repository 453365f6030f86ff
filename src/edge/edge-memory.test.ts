import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';
import { request } from 'node:http';
import { startEdge, tempDir, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { releaseFilePath } from './release-source.js';
import { buildReleaseTar, get, sha256Hex, type TestRelease } from '../../test/support/edge/test-helpers.js';
import { waitFor } from '../util/wait-for.js';

const MiB = 1024 * 1024;
const BUDGET = 8 * MiB;

/** GETs a path and hashes the body as it arrives, so the test never holds a large body. */
function fetchDigest(port: number, path: string, host: string): Promise<{ status: number; bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host } }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A release of `count` distinct small files of `size` bytes each (`f0.bin`, …), seeded by `seed`. */
function smallFilesRelease(seed: number, count: number, size: number): TestRelease & { files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) files.set(`f${i}.bin`, Buffer.alloc(size, `${seed}:${i};`));
  return { ...buildReleaseTar(Object.fromEntries(files)), files };
}

test('a 64 MiB file streams from disk, byte for byte, while the edge holds less than its 8 MiB budget', async (t) => {
  const fake = await withFake(t);
  const big = Buffer.alloc(64 * MiB);
  const release = buildReleaseTar({ 'index.html': 'home', 'big.bin': big });
  fake.blobs.set(release.sha256, release.tar);
  const { edge, port } = await startEdge(t, {
    serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t), memoryBytes: BUDGET,
  });
  await edge.routes.waitForRevision(fake.upsert(testRoute('huge', [release.sha256])));

  const served = await fetchDigest(port, '/big.bin', 'huge.localhost');
  assert.deepEqual(served, { status: 200, bytes: big.length, sha256: sha256Hex(big) });
  const site = edge.routes.cache.get(release.sha256);
  assert.equal(site?.files.get('big.bin')?.identity.body, null, 'the large file is not in memory');
  assert.equal(site?.files.get('index.html')?.identity.body?.toString(), 'home', 'small files still are');
  const stats = edge.routes.cache.stats();
  assert.ok(stats.residentBytes <= BUDGET, `resident ${stats.residentBytes} within the budget`);
  assert.equal(stats.residentBytes, 'home'.length);

  // Validators and HEAD work as for files in memory, without reading the file.
  const head = await get(port, '/big.bin', { host: 'huge.localhost', method: 'HEAD' });
  assert.equal(head.headers['content-length'], String(big.length));
  assert.equal(head.body.length, 0);
  const etag = head.headers.etag as string;
  const revalidated = await get(port, '/big.bin', { host: 'huge.localhost', headers: { 'if-none-match': etag } });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.body.length, 0);
});

test('over budget, the least recently used release serves from disk, then comes back into memory on use', async (t) => {
  const fake = await withFake(t);
  // 5 MiB of 256 KiB files each: both fit the budget alone, not together.
  const a = smallFilesRelease(1, 20, 256 * 1024);
  const b = smallFilesRelease(2, 20, 256 * 1024);
  fake.blobs.set(a.sha256, a.tar);
  fake.blobs.set(b.sha256, b.tar);
  const { edge, port } = await startEdge(t, {
    serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t), memoryBytes: BUDGET,
  });
  const { cache } = edge.routes;
  await edge.routes.waitForRevision(fake.upsert(testRoute('a', [a.sha256])));
  assert.equal((await get(port, '/f0.bin', { host: 'a.localhost' })).status, 200);
  await edge.routes.waitForRevision(fake.upsert(testRoute('b', [b.sha256])));

  const siteA = cache.get(a.sha256);
  const siteB = cache.get(b.sha256);
  assert.ok(siteA && siteB);
  assert.equal(siteA.resident, false, 'the least recently used release left memory');
  assert.equal(siteB.resident, true);
  assert.ok(cache.stats().residentBytes <= BUDGET);
  // Still served, from disk, and whole.
  for (const [name, content] of a.files) {
    const res = await fetchDigest(port, `/${name}`, 'a.localhost');
    assert.deepEqual(res, { status: 200, bytes: content.length, sha256: sha256Hex(content) }, name);
  }
  await waitFor(() => siteA.resident, { description: 'the used release read back into memory' });
  assert.equal(siteB.resident, false, 'which sent the other one to disk');
  assert.ok(cache.stats().residentBytes <= BUDGET);
  assert.ok(cache.stats().reloads >= 1);
  const res = await fetchDigest(port, '/f3.bin', 'b.localhost');
  assert.equal(res.sha256, sha256Hex(b.files.get('f3.bin') as Buffer));
});

test('removing a route releases its memory and its disk copy; a release another route names stays', async (t) => {
  const fake = await withFake(t);
  const release = smallFilesRelease(3, 4, 64 * 1024);
  const shared = smallFilesRelease(4, 1, 1024);
  fake.blobs.set(release.sha256, release.tar);
  fake.blobs.set(shared.sha256, shared.tar);
  const stateDir = await tempDir(t);
  const { edge, port } = await startEdge(t, {
    serverUrl: fake.url, token: fake.token, stateDir, memoryBytes: BUDGET,
  });
  // Identical content gives the same release in two deployments.
  fake.upsert(testRoute('keeper', [shared.sha256]));
  await edge.routes.waitForRevision(fake.upsert(testRoute('other', [shared.sha256])));
  await edge.routes.waitForRevision(fake.remove('dep_other'));
  assert.ok(edge.routes.cache.get(shared.sha256)?.resident);
  await access(releaseFilePath(stateDir, shared.sha256));

  await edge.routes.waitForRevision(fake.upsert(testRoute('gone', [release.sha256])));
  assert.equal((await get(port, '/f1.bin', { host: 'gone.localhost' })).status, 200);
  assert.equal(edge.routes.cache.stats().residentBytes, 4 * 64 * 1024 + 1024);

  await edge.routes.waitForRevision(fake.remove('dep_gone'));
  assert.equal(edge.routes.cache.stats().residentBytes, 1024);
  assert.equal(edge.routes.cache.get(release.sha256), undefined);
  assert.equal((await get(port, '/f1.bin', { host: 'gone.localhost' })).status, 404);
  await waitFor(() => access(releaseFilePath(stateDir, release.sha256)).then(() => false, () => true), {
    description: 'the removed release deleted from the disk cache',
  });
  await access(releaseFilePath(stateDir, shared.sha256));
});
