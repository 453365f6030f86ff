import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../test/support/edge/fake-control-plane.js';
import { buildFileRelease, putFileRelease, type TestFileRelease } from '../../test/support/edge/file-release.js';
import { waitFor } from '../util/wait-for.js';
import { fileBlobPath } from './file-cache.js';
import { silentLogger } from './logger.js';
import { createReleaseCache, type ReleaseCacheConfig } from './release-cache.js';
import { releaseManifestPath } from './release-source.js';

async function setup(t: { after(fn: () => Promise<unknown>): void }): Promise<{ fake: FakeControlPlane; config: ReleaseCacheConfig }> {
  const fake = await startFakeControlPlane();
  const stateDir = await mkdtemp(join(tmpdir(), 'edge-files-'));
  t.after(() => fake.close());
  t.after(() => rm(stateDir, { recursive: true, force: true }));
  return { fake, config: { stateDir, serverUrl: fake.url, token: fake.token, logger: silentLogger } };
}

/** 200 files of a site; `changed` alters one of them. */
function siteFiles(changed = ''): Record<string, string> {
  const files: Record<string, string> = { 'index.html': `<h1>home${changed}</h1>` };
  for (let i = 1; i < 200; i++) files[`page-${String(i).padStart(3, '0')}.html`] = `<p>page ${i}</p>${'.'.repeat(i)}`;
  return files;
}

const requested = (fake: FakeControlPlane) => fake.batchRequests.flat();
const exists = (path: string) => access(path).then(() => true, () => false);

test('a republish that changes one of 200 files fetches that one file and nothing else', async (t) => {
  const { fake, config } = await setup(t);
  const v1 = buildFileRelease(siteFiles());
  const v2 = buildFileRelease(siteFiles(' again'));
  putFileRelease(fake.blobs, v1);
  putFileRelease(fake.blobs, v2);
  const cache = createReleaseCache(config);

  const s1 = await cache.load(v1.sha256);
  assert.equal(s1.files.get('index.html')?.identity.body?.toString(), '<h1>home</h1>');
  assert.equal(new Set(requested(fake)).size, 200, 'the first release fetches every file');
  assert.equal(requested(fake).length, 200, 'each once');
  assert.ok(fake.batchRequests.length < 200, 'in batches, not one request per file');

  const before = fake.batchRequests.length;
  const s2 = await cache.load(v2.sha256);
  assert.equal(s2.files.get('index.html')?.identity.body?.toString(), '<h1>home again</h1>');
  assert.deepEqual(fake.batchRequests.slice(before), [[v2.manifest.files[0]?.sha256]], 'only the changed file');
  assert.equal(fake.blobRequests.get(v2.sha256), 1, 'plus the manifest');
  assert.equal(cache.fetchStats().files, 201);
  const shared = s2.files.get('page-007.html')?.identity.body;
  assert.equal(shared?.toString(), `<p>page 7</p>${'.'.repeat(7)}`);
  assert.equal(shared, s1.files.get('page-007.html')?.identity.body, 'a file both hold is one buffer, not read again');
});

test('starts offline from the disk cache alone; a file missing from it is blob_not_found', async (t) => {
  const { fake, config } = await setup(t);
  const release = buildFileRelease({ 'index.html': { content: 'x'.repeat(3000), encodings: ['br', 'gzip'] }, 'a.txt': 'a' });
  putFileRelease(fake.blobs, release);
  await createReleaseCache(config).load(release.sha256);
  assert.ok(await exists(releaseManifestPath(config.stateDir, release.sha256)));

  fake.failBlobs = true;
  const offline = await createReleaseCache(config).load(release.sha256, { offline: true });
  assert.equal(offline.files.get('index.html')?.identity.body?.toString(), 'x'.repeat(3000));
  assert.ok(offline.files.get('index.html')?.br?.body, 'variants come from the cache too');

  await rm(fileBlobPath(config.stateDir, release.manifest.files[0]?.sha256 as string));
  await assert.rejects(createReleaseCache(config).load(release.sha256, { offline: true }), (e) => isSlipwayError(e, 'blob_not_found'));
});

test('a damaged cached file is deleted and fetched again; a damaged manifest too', async (t) => {
  const { fake, config } = await setup(t);
  const release = buildFileRelease({ 'index.html': 'good', 'b.txt': 'bee' });
  putFileRelease(fake.blobs, release);
  await createReleaseCache(config).load(release.sha256);
  const index = release.manifest.files.find((f) => f.path === 'index.html')?.sha256 as string;
  await writeFile(fileBlobPath(config.stateDir, index), 'evil');

  const site = await createReleaseCache(config).load(release.sha256);
  assert.equal(site.files.get('index.html')?.identity.body?.toString(), 'good');
  assert.deepEqual(fake.batchRequests.at(-1), [index]);
  assert.equal((await readFile(fileBlobPath(config.stateDir, index))).toString(), 'good');

  await writeFile(releaseManifestPath(config.stateDir, release.sha256), '{"format":2,"kind":"static","files":[]}');
  const again = await createReleaseCache(config).load(release.sha256);
  assert.equal(again.files.size, 2);
  assert.equal(fake.blobRequests.get(release.sha256), 2, 'the manifest was fetched again');
});

test('bytes that do not match their name are refused and never cached', async (t) => {
  const { fake, config } = await setup(t);
  const release = buildFileRelease({ 'index.html': 'real' });
  putFileRelease(fake.blobs, release);
  const sha = release.manifest.files[0]?.sha256 as string;
  fake.blobs.set(sha, Buffer.from('fake'));
  await assert.rejects(createReleaseCache(config).load(release.sha256), (e) => isSlipwayError(e, 'blob_corrupt'));
  assert.equal(await exists(fileBlobPath(config.stateDir, sha)), false);
});

test('large files stream from their cached copy; an evicted site reads its small files back', async (t) => {
  const { fake, config } = await setup(t);
  const large = Buffer.alloc(300_000, 'L');
  const releases: TestFileRelease[] = [1, 2].map((n) => buildFileRelease({ 'index.html': String(n).repeat(10_000), 'big.bin': large }));
  for (const r of releases) putFileRelease(fake.blobs, r);
  const [r1, r2] = releases as [TestFileRelease, TestFileRelease];
  const cache = createReleaseCache({ ...config, memoryBytes: 15_000, maxMemoryFileBytes: 100_000 });
  const s1 = await cache.load(r1.sha256);
  cache.pin(new Map([[r1.sha256, s1]]));
  const big = s1.files.get('big.bin')?.identity;
  assert.equal(big?.body, null, 'a large file is never held in memory');
  assert.equal(big?.tarPath, fileBlobPath(config.stateDir, big?.sha256 as string));
  assert.equal(big?.offset, 0);
  assert.equal(requested(fake).filter((s) => s === big?.sha256).length, 1, 'the shared large file is fetched once');

  const s2 = await cache.load(r2.sha256);
  assert.equal(s1.resident, false, 'the older site gave its memory back');
  assert.ok(s2.resident);
  s1.onUse(s1);
  await waitFor(() => s1.resident, { timeoutMs: 5000, description: 'the evicted site to be read back' });
  assert.equal(s1.files.get('index.html')?.identity.body?.toString(), '1'.repeat(10_000));
  assert.equal(cache.stats().reloads, 1);
});

test('a forgotten release takes its manifest and the files only it read off the disk', async (t) => {
  const { fake, config } = await setup(t);
  const a = buildFileRelease({ 'index.html': 'a', 'shared.css': 'body{}' });
  const b = buildFileRelease({ 'index.html': 'b', 'shared.css': 'body{}' });
  putFileRelease(fake.blobs, a);
  putFileRelease(fake.blobs, b);
  const cache = createReleaseCache(config);
  const sa = await cache.load(a.sha256);
  const sb = await cache.load(b.sha256);
  cache.pin(new Map([[a.sha256, sa], [b.sha256, sb]]), new Set());
  const sha = (r: TestFileRelease, path: string) => r.manifest.files.find((f) => f.path === path)?.sha256 as string;
  assert.deepEqual(cache.referencedFiles(), new Set([sha(a, 'index.html'), sha(b, 'index.html'), sha(a, 'shared.css')]));
  assert.equal(await cache.removeFile(sha(a, 'shared.css')), false, 'a file a known release reads stays');

  cache.pin(new Map([[b.sha256, sb]]), new Set());
  const gone = [releaseManifestPath(config.stateDir, a.sha256), fileBlobPath(config.stateDir, sha(a, 'index.html'))];
  await waitFor(async () => !(await exists(gone[0] as string)) && !(await exists(gone[1] as string)), { timeoutMs: 5000, description: 'release a to leave the disk' });
  assert.ok(await exists(fileBlobPath(config.stateDir, sha(a, 'shared.css'))), 'the file b still reads stays');
  assert.ok(await exists(releaseManifestPath(config.stateDir, b.sha256)));
  assert.deepEqual(cache.referencedFiles(), new Set([sha(b, 'index.html'), sha(b, 'shared.css')]));
});
