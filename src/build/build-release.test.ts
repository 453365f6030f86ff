import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { buildRelease, type LentSnapshot } from './build-release.js';
import { createSnapshot } from './snapshot.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('build-release-test-');
});
after(async () => {
  await removeDir(work);
});

/** A snapshot of `files` read into memory, as the build worker lends it, and an empty work dir. */
async function lent(files: Record<string, string>): Promise<{ snapshot: LentSnapshot; snapshotPath: string; workDir: string }> {
  const n = counter++;
  const sourceDir = join(work, `source-${n}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(sourceDir, path)), { recursive: true });
    await writeFile(join(sourceDir, path), content);
  }
  const made = join(work, `made-${n}.tar`);
  await createSnapshot({ sourceDir, outPath: made });
  const workDir = join(work, `work-${n}`);
  await mkdir(workDir);
  return { snapshot: { bytes: await readFile(made) }, snapshotPath: join(workDir, 'source.tar'), workDir };
}

test('a build that needs a tree drops the lent snapshot before its build command runs', async () => {
  const { snapshot, snapshotPath, workDir } = await lent({ 'index.html': '<h1>hi</h1>' });
  let heldDuringCommand: boolean | undefined;
  const release = await buildRelease({
    snapshot, snapshotPath, workDir, kind: 'static', timeoutMs: 20_000, outputPath: 'dist',
    buildCommand: 'mkdir -p dist && cp index.html dist/ && echo step-ran',
    onLog: (chunk) => {
      if (chunk.includes('step-ran')) heldDuringCommand = snapshot.bytes !== undefined;
    },
  });
  assert.equal(release.kind, 'static');
  assert.equal(heldDuringCommand, false, 'the build command ran while the snapshot was still held in memory');
  assert.equal(snapshot.bytes, undefined);
  // The file is still written for builders that read it (image builds).
  assert.ok((await readFile(snapshotPath)).length > 0);
});

test('a refused build drops the lent snapshot too', async () => {
  const { snapshot, snapshotPath, workDir } = await lent({ 'index.html': '<h1>hi</h1>' });
  await assert.rejects(buildRelease({
    snapshot, snapshotPath, workDir, kind: 'static', timeoutMs: 20_000, buildCommand: 'exit 3', onLog: () => {},
  }));
  assert.equal(snapshot.bytes, undefined);
});
