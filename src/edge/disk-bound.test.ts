import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CACHE_FS_SHARE, DEFAULT_CACHE_MAX_BYTES, enforceCacheBound } from './cache-bound.js';
import { silentLogger } from './logger.js';
import { createReleaseCache } from './release-cache.js';
import { releaseFilePath, releaseManifestPath } from './release-source.js';
import { startEdge, tempDir, withFake } from '../../test/support/edge/edge-fixtures.js';
import { buildFileRelease, putFileRelease } from '../../test/support/edge/file-release.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { buildReleaseTar, get } from '../../test/support/edge/test-helpers.js';
import { statfsSync } from 'node:fs';

/** A file of `size` bytes that takes no disk (sparse), last used `ageS` seconds ago. */
async function sparse(path: string, size: number, ageS: number): Promise<void> {
  await writeFile(path, '');
  await truncate(path, size);
  const then = new Date(Date.now() - ageS * 1000);
  await utimes(path, then, then);
}

const exists = async (path: string) => (await stat(path).catch(() => null)) !== null;
const randomSha = () => randomBytes(32).toString('hex');

test('an edge with no bound configured trims a full disk cache to its default: unreferenced files and releases go, referenced ones stay', async (t) => {
  const fake = await withFake(t);
  const stateDir = await tempDir(t);
  const perFile = buildFileRelease({ 'index.html': '<h1>per-file</h1>', 'app.js': 'window.ok = 1;' });
  putFileRelease(fake.blobs, perFile);
  const tar = buildReleaseTar({ 'index.html': '<h1>tar</h1>' });
  fake.blobs.set(tar.sha256, tar.tar);
  fake.upsert(testRoute('files', [perFile.sha256]));
  const revision = fake.upsert(testRoute('tar', [tar.sha256]));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir });
  await edge.routes.waitForRevision(revision);

  const fs = statfsSync(stateDir);
  const expected = Math.min(DEFAULT_CACHE_MAX_BYTES, Math.floor(fs.blocks * fs.bsize * DEFAULT_CACHE_FS_SHARE));
  assert.equal(edge.diskCache.maxBytes, expected, 'the default: the smaller of 2 GiB and a tenth of the file system');

  // Three unreferenced files of half the bound each (sparse: they cost no real disk), the
  // oldest first, and a release no route names, as an earlier edge run would have left them.
  const half = Math.floor(expected / 2);
  const stale = [randomSha(), randomSha(), randomSha()];
  for (const [i, sha] of stale.entries()) {
    await mkdir(join(stateDir, 'files', sha.slice(0, 2)), { recursive: true });
    await sparse(join(stateDir, 'files', sha.slice(0, 2), sha), half, 300 - i * 100);
  }
  const orphan = buildReleaseTar({ 'index.html': '<h1>left over</h1>' });
  await writeFile(releaseFilePath(stateDir, orphan.sha256), orphan.tar);
  // Used before the files, but within the release grace: only the bound takes it.
  const then = new Date(Date.now() - 400_000);
  await utimes(releaseFilePath(stateDir, orphan.sha256), then, then);

  await edge.diskCache.trim();

  const filePath = (sha: string) => join(stateDir, 'files', sha.slice(0, 2), sha);
  assert.ok(!(await exists(filePath(stale[0]!))) && !(await exists(filePath(stale[1]!))), 'the least recently used unreferenced files went');
  assert.ok(await exists(filePath(stale[2]!)), 'only as many as the bound needs');
  for (const sha of perFile.blobs.keys()) assert.ok(await exists(filePath(sha)), 'the files a route serves stay');
  assert.ok(await exists(releaseManifestPath(stateDir, perFile.sha256)));
  assert.ok(await exists(releaseFilePath(stateDir, tar.sha256)), 'a release a route names stays');
  assert.ok(!(await exists(releaseFilePath(stateDir, orphan.sha256))), 'a release no route names goes under pressure, least recently used first');
  for (const host of ['files.localhost', 'tar.localhost']) assert.equal((await get(port, '/', { host })).status, 200, host);
});

test('a format-1 release no route names goes after the grace; one a route names (loaded or not) stays', async (t) => {
  const fake = await withFake(t);
  const stateDir = await tempDir(t);
  const [served, preview, dropped, orphan] = [1, 2, 3, 4].map((n) => buildReleaseTar({ 'index.html': `<h1>${n}</h1>` })) as [
    ReturnType<typeof buildReleaseTar>, ReturnType<typeof buildReleaseTar>, ReturnType<typeof buildReleaseTar>, ReturnType<typeof buildReleaseTar>,
  ];
  for (const r of [served, preview, dropped]) fake.blobs.set(r.sha256, r.tar);
  const cache = createReleaseCache({ stateDir, serverUrl: fake.url, token: fake.token, logger: silentLogger });
  const bound = (nowMs: number) => enforceCacheBound({
    dir: join(stateDir, 'files'), releasesDir: join(stateDir, 'releases'), maxBytes: Infinity, releaseGraceMs: 60_000, now: () => nowMs, refs: cache,
  });
  const site = await cache.load(served.sha256);
  // A preview a route lists but no request asked for yet is on disk, not loaded (an earlier run fetched it).
  await writeFile(releaseFilePath(stateDir, preview.sha256), preview.tar);
  await writeFile(releaseFilePath(stateDir, orphan.sha256), orphan.tar);
  const later = Date.now() + 60_001;

  assert.equal((await bound(later)).releasesRemoved, 0, 'before routes are known nothing goes');
  cache.pin(new Map([[served.sha256, site]]), new Set([served.sha256, preview.sha256]));
  assert.equal((await bound(Date.now())).releasesRemoved, 0, 'within the grace nothing goes');
  const r = await bound(later);
  assert.equal(r.releasesRemoved, 1);
  assert.ok(!(await exists(releaseFilePath(stateDir, orphan.sha256))), 'the release no route names went');
  assert.ok(await exists(releaseFilePath(stateDir, served.sha256)), 'the active one stays');
  assert.ok(await exists(releaseFilePath(stateDir, preview.sha256)), 'a listed preview stays');

  // A load that starts while a release no route names is being removed waits, then downloads it again.
  await writeFile(releaseFilePath(stateDir, dropped.sha256), dropped.tar);
  const removal = cache.removeRelease(dropped.sha256);
  const loading = cache.load(dropped.sha256);
  assert.equal(await removal, true);
  assert.equal((await loading).files.get('index.html')?.identity.body?.toString(), '<h1>3</h1>');
  assert.equal(fake.blobRequests.get(dropped.sha256), 1, 'downloaded again, not read from a file being deleted');
  assert.equal(await cache.removeRelease(dropped.sha256), false, 'a known release is never removed');
  assert.deepEqual((await readdir(join(stateDir, 'releases'))).filter((n) => n.endsWith('.tmp')), []);
});
