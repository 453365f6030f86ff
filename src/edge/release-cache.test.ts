import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../test/support/edge/fake-control-plane.js';
import { silentLogger } from './logger.js';
import { createReleaseCache, type ReleaseCacheConfig } from './release-cache.js';
import { releaseFilePath } from './release-source.js';
import { buildReleaseTar, sha256Hex } from '../../test/support/edge/test-helpers.js';

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
  assert.equal(fromDisk.files.get('index.html')?.identity.body?.toString(), 'v1');
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
  assert.equal(site.files.get('index.html')?.identity.body?.toString(), 'good');
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

test('one budget for all releases: least recently used give their memory back; forgotten ones release it', async (t) => {
  const { fake, config } = await setup(t);
  const releases = [1, 2, 3, 4].map((n) => buildReleaseTar({ 'index.html': String(n).repeat(10_000) }));
  for (const r of releases) fake.blobs.set(r.sha256, r.tar);
  const [r1, r2, r3, r4] = releases as [typeof releases[0], typeof releases[0], typeof releases[0], typeof releases[0]];
  const cache = createReleaseCache({ ...config, memoryBytes: 3 * 10_000 + 100 });
  const s1 = await cache.load(r1.sha256);
  cache.pin(new Map([[r1.sha256, s1]]));
  const s2 = await cache.load(r2.sha256);
  const s3 = await cache.load(r3.sha256);
  s2.onUse(s2); // r2, then r1, are now more recent than r3
  s1.onUse(s1);
  const s4 = await cache.load(r4.sha256);
  assert.ok(s1.resident && s2.resident && s4.resident);
  assert.equal(s3.resident, false, 'the least recently used gave its memory back');
  assert.equal(s3.files.get('index.html')?.identity.body, null);
  assert.equal(cache.get(r3.sha256), undefined, 'without a keep set, an evicted preview is forgotten');
  assert.deepEqual(cache.stats(), { pinned: 1, cached: 2, residentBytes: 30_000, budgetBytes: 30_100, downloads: 4, reloads: 0 });

  cache.pin(new Map());
  assert.ok(cache.get(r1.sha256), 'an unpinned release stays known when no keep set is given');
  cache.pin(new Map(), new Set([r2.sha256]));
  assert.equal(cache.get(r1.sha256), undefined);
  assert.equal(cache.get(r4.sha256), undefined);
  assert.equal(s4.resident, false, 'a forgotten release lets go of its memory at once');
  assert.equal(cache.stats().residentBytes, 10_000);
});
