import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Buffer } from '../util/sha256.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { enforceCacheBound } from './cache-bound.js';

/** A cache folder `ab/<sha>` with files of `size` bytes, each used `ageS` seconds ago. */
async function cacheWith(dir: string, files: Array<{ name: string; size: number; ageS: number }>): Promise<Map<string, string>> {
  const shas = new Map<string, string>();
  for (const f of files) {
    const bytes = Buffer.alloc(f.size, f.name);
    const sha = sha256Buffer(bytes);
    await mkdir(join(dir, sha.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, sha.slice(0, 2), sha), bytes);
    const then = new Date(Date.now() - f.ageS * 1000);
    await utimes(join(dir, sha.slice(0, 2), sha), then, then);
    shas.set(f.name, sha);
  }
  return shas;
}

async function present(dir: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const prefix of await readdir(dir)) for (const name of await readdir(join(dir, prefix))) out.add(name);
  return out;
}

test('over its bound the cache loses its least recently used files that no release reads, and only as many as needed', async () => {
  const dir = await makeTempDir('cache-bound-');
  try {
    const sha = await cacheWith(dir, [
      { name: 'oldest-but-needed', size: 1000, ageS: 500 },
      { name: 'old', size: 1000, ageS: 400 },
      { name: 'older', size: 1000, ageS: 450 },
      { name: 'recent', size: 1000, ageS: 10 },
      { name: 'newest', size: 1000, ageS: 1 },
    ]);
    await writeFile(join(dir, `${sha.get('newest')!.slice(0, 2)}`, 'x.tmp'), 'a temp file is not the cache\'s');
    const needed = new Set([sha.get('oldest-but-needed')!]);
    const removedCalls: string[] = [];
    const refs = {
      referencedFiles: () => needed,
      removeFile: async (s: string) => {
        removedCalls.push(s);
        await rm(join(dir, s.slice(0, 2), s));
        return true;
      },
    };
    const under = await enforceCacheBound({ dir, maxBytes: 10_000, refs });
    assert.deepEqual([under.bytesBefore, under.removed], [5000, 0], 'under the bound nothing goes');

    const result = await enforceCacheBound({ dir, maxBytes: 3000, refs });
    assert.deepEqual([result.removed, result.removedBytes], [2, 2000]);
    assert.deepEqual(removedCalls, [sha.get('older'), sha.get('old')], 'least recently used first, the needed one skipped');
    const left = await present(dir);
    for (const kept of ['oldest-but-needed', 'recent', 'newest']) assert.ok(left.has(sha.get(kept)!), kept);

    // A bound smaller than what releases need keeps what they need.
    const tight = await enforceCacheBound({ dir, maxBytes: 0, refs });
    assert.equal(tight.removed, 2);
    assert.ok((await present(dir)).has(sha.get('oldest-but-needed')!));
  } finally {
    await removeDir(dir);
  }
});

test('a file the cache refuses to remove (a release started loading it) is skipped, not counted', async () => {
  const dir = await makeTempDir('cache-bound-');
  try {
    const sha = await cacheWith(dir, [{ name: 'a', size: 100, ageS: 50 }, { name: 'b', size: 100, ageS: 40 }]);
    const result = await enforceCacheBound({
      dir, maxBytes: 100,
      refs: { referencedFiles: () => new Set(), removeFile: async (s) => s !== sha.get('a') && (await rm(join(dir, s.slice(0, 2), s)), true) },
    });
    assert.deepEqual([result.removed, result.removedBytes], [1, 100]);
    assert.ok((await present(dir)).has(sha.get('a')!));
  } finally {
    await removeDir(dir);
  }
});

test('a missing folder is an empty cache', async () => {
  const result = await enforceCacheBound({ dir: '/nonexistent/slipway-cache', maxBytes: 0, refs: { referencedFiles: () => new Set(), removeFile: async () => true } });
  assert.deepEqual(result, { bytesBefore: 0, removed: 0, removedBytes: 0, releasesRemoved: 0 });
});

test('a release that only just stopped being referenced keeps its grace, however old its file times', async () => {
  const dir = await makeTempDir('cache-bound-');
  try {
    const releases = join(dir, 'releases');
    await mkdir(releases, { recursive: true });
    const sha = 'd'.repeat(64);
    await writeFile(join(releases, `${sha}.tar`), 'tar');
    // Referenced for a day and served from memory meanwhile: its file times are a day old.
    const dayAgo = new Date(Date.now() - 24 * 3600_000);
    await utimes(join(releases, `${sha}.tar`), dayAgo, dayAgo);
    let referenced = true;
    const clock = { ms: Date.now() };
    const unreferencedSince = new Map<string, number>();
    const pass = () => enforceCacheBound({
      dir: join(dir, 'files'), releasesDir: releases, maxBytes: 1_000_000, releaseGraceMs: 60_000, now: () => clock.ms, unreferencedSince,
      refs: {
        referencedFiles: () => new Set(), removeFile: async () => true,
        referencedReleases: () => new Set(referenced ? [sha] : []),
        removeRelease: async (s) => (await rm(join(releases, `${s}.tar`)), true),
      },
    });
    assert.equal((await pass()).releasesRemoved, 0, 'referenced: kept');
    referenced = false;
    clock.ms += 1000;
    assert.equal((await pass()).releasesRemoved, 0, 'just unreferenced: its grace starts now');
    clock.ms += 60_000;
    assert.equal((await pass()).releasesRemoved, 1, 'a grace later it goes');
  } finally {
    await removeDir(dir);
  }
});
