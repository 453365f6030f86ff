import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { startFakeControlPlane, type FakeControlPlane } from './fake-control-plane.js';
import { silentLogger } from './logger.js';
import { createReleaseCache, type ReleaseCacheConfig } from './release-cache.js';
import { releaseFilePath } from './release-source.js';
import { buildReleaseTar, sha256Hex } from './test-helpers.js';

async function setup(t: { after(fn: () => Promise<unknown>): void }): Promise<{ fake: FakeControlPlane; config: ReleaseCacheConfig }> {
  const fake = await startFakeControlPlane();
  const stateDir = await mkdtemp(join(tmpdir(), 'edge-cache-'));
  t.after(() => fake.close());
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  return { fake, config: { stateDir, serverUrl: fake.url, token: fake.token, logger: silentLogger } };
}

test('fetches once for concurrent loads, verifies, stores on disk, then serves from disk', async (t) => {
  const { fake, config } = await setup(t);
  const release = buildReleaseTar({ 'index.html': 'v1' });
  fake.blobs.set(release.sha256, release.tar);
  const cache = createReleaseCache(config);
  const sites = await Promise.all([1, 2, 3, 4, 5].map(() => cache.load(release.sha256)));
  assert.equal(new Set(sites).size, 1);
  assert.equal(fake.blobRequests.get(release.sha256), 1);
  assert.deepEqual(await readFile(releaseFilePath(config.stateDir, release.sha256)), release.tar);

  const restarted = createReleaseCache(config);
  fake.failBlobs = true;
  const fromDisk = await restarted.load(release.sha256, { offline: true });
  assert.equal(fromDisk.files.get('index.html')?.identity.body.toString(), 'v1');
  assert.equal(fake.blobRequests.get(release.sha256), 1);
});

test('a corrupt disk copy is deleted and fetched again', async (t) => {
  const { fake, config } = await setup(t);
  const release = buildReleaseTar({ 'index.html': 'good' });
  fake.blobs.set(release.sha256, release.tar);
  await createReleaseCache(config).load(release.sha256);
  const path = releaseFilePath(config.stateDir, release.sha256);
  const damaged = Buffer.from(release.tar);
  damaged.writeUInt8(damaged.readUInt8(600) ^ 0xff, 600);
  await writeFile(path, damaged);

  const offline = createReleaseCache(config);
  await assert.rejects(offline.load(release.sha256, { offline: true }), (e) => isSlipwayError(e, 'blob_not_found'));
  await writeFile(path, damaged);
  const site = await createReleaseCache(config).load(release.sha256);
  assert.equal(site.files.get('index.html')?.identity.body.toString(), 'good');
  assert.equal(fake.blobRequests.get(release.sha256), 2);
  assert.equal(sha256Hex(await readFile(path)), release.sha256);
});

test('bytes that do not match their address are refused and never stored', async (t) => {
  const { fake, config } = await setup(t);
  const release = buildReleaseTar({ 'index.html': 'real' });
  fake.blobs.set(release.sha256, buildReleaseTar({ 'index.html': 'impostor' }).tar);
  const cache = createReleaseCache(config);
  await assert.rejects(cache.load(release.sha256), (e) => isSlipwayError(e, 'blob_corrupt'));
  await assert.rejects(readFile(releaseFilePath(config.stateDir, release.sha256)), { code: 'ENOENT' });
  await assert.rejects(cache.load('f'.repeat(64)), (e) => isSlipwayError(e, 'blob_not_found'));
  await assert.rejects(cache.load('../../etc/passwd'), (e) => isSlipwayError(e, 'invalid_request'));
});

test('pinned releases stay; the others are evicted by total bytes, least recently used first', async (t) => {
  const { fake, config } = await setup(t);
  const releases = [1, 2, 3, 4].map((n) => buildReleaseTar({ 'index.html': String(n).repeat(10_000) }));
  for (const r of releases) fake.blobs.set(r.sha256, r.tar);
  const [r1, r2, r3, r4] = releases as [typeof releases[0], typeof releases[0], typeof releases[0], typeof releases[0]];
  const cache = createReleaseCache({ ...config, maxPreviewBytes: r1.tar.length * 2 + 100 });
  const s1 = await cache.load(r1.sha256);
  cache.pin(new Map([[r1.sha256, s1]]));
  await cache.load(r2.sha256);
  await cache.load(r3.sha256);
  cache.get(r2.sha256); // r2 is now more recent than r3
  await cache.load(r4.sha256);
  assert.ok(cache.get(r1.sha256), 'pinned');
  assert.ok(cache.get(r2.sha256), 'recently used');
  assert.equal(cache.get(r3.sha256), undefined, 'least recently used is evicted');
  assert.ok(cache.get(r4.sha256));
  assert.deepEqual(cache.stats(), { pinned: 1, cached: 2, cachedBytes: r2.tar.length + r4.tar.length, downloads: 4 });

  cache.pin(new Map());
  assert.ok(cache.get(r1.sha256), 'an unpinned release joins the LRU instead of vanishing');
});
