import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isSlipwayError } from '../core/errors.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { rawTar, type RawEntry } from '../../test/support/archive/raw-tar-fixture.js';
import { extractDynamicRelease } from './dynamic-release-reader.js';
import { extractImageArchive, packageImageRelease } from './image-release-format.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('image-release-format-test-');
});
after(async () => {
  await removeDir(work);
});

const IMAGE = `sha256:${'ab'.repeat(32)}`;
const MANIFEST: DynamicReleaseManifest = { format: 1, kind: 'dynamic', run_command: '', port: 8080, detected: 'dockerfile', image: IMAGE };

async function packaged(image: string, manifest: DynamicReleaseManifest = MANIFEST): Promise<{ path: string; sha256: string }> {
  const stageDir = join(work, `stage-${counter++}`);
  await mkdir(stageDir);
  await writeFile(join(stageDir, 'image.tar'), image);
  const path = join(work, `release-${counter++}.tar.gz`);
  return { path, ...(await packageImageRelease({ manifest, stageDir, outPath: path })) };
}

async function raw(entries: RawEntry[]): Promise<string> {
  const path = join(work, `raw-${counter++}.tar.gz`);
  await writeFile(path, gzipSync(rawTar(entries)));
  return path;
}

test('an image release reads back as its manifest and the saved image; the same input gives the same bytes', async () => {
  const first = await packaged('saved image bytes');
  const out = join(work, 'image-out.tar');
  assert.deepEqual(await extractImageArchive(first.path, out), MANIFEST);
  assert.equal(await readFile(out, 'utf8'), 'saved image bytes');
  assert.equal((await packaged('saved image bytes')).sha256, first.sha256, 'deterministic');
  // A tree reader refuses it, and an image reader refuses a tree release.
  await assert.rejects(extractDynamicRelease(first.path, join(work, 'tree-out')), (err) => isSlipwayError(err, 'invalid_archive') && /holds an image/.test(err.message));
  const tree = await raw([{ name: 'release.json', body: JSON.stringify({ ...MANIFEST, run_command: 'x', image: undefined }) }, { name: 'app/', type: '5' }]);
  await assert.rejects(extractImageArchive(tree, join(work, 'no.tar')), (err) => isSlipwayError(err, 'invalid_archive') && /app tree/.test(err.message));
});

test('a malformed image release is invalid_archive and leaves no image file', async () => {
  const manifest = { name: 'release.json', body: JSON.stringify(MANIFEST) };
  const cases: Array<[string, RawEntry[]]> = [
    ['image id not a digest', [{ name: 'release.json', body: JSON.stringify({ ...MANIFEST, image: 'busybox:latest' }) }, { name: 'image.tar', body: 'x' }]],
    ['empty run command without an image', [{ name: 'release.json', body: JSON.stringify({ ...MANIFEST, image: undefined }) }, { name: 'image.tar', body: 'x' }]],
    ['no image.tar', [manifest]],
    ['another entry first', [manifest, { name: 'app/x', body: 'x' }]],
    ['something after image.tar', [manifest, { name: 'image.tar', body: 'x' }, { name: 'extra', body: 'y' }]],
  ];
  for (const [what, entries] of cases) {
    const out = join(work, `bad-${counter++}.tar`);
    await assert.rejects(extractImageArchive(await raw(entries), out), (err) => isSlipwayError(err, 'invalid_archive'), what);
    assert.equal((await readdir(work)).includes(out.slice(work.length + 1)), false, `${what}: no image file left`);
  }
});
