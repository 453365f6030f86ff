import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { DEFAULT_UPLOAD_LIMITS } from '../core/limits.js';
import { sha256Buffer } from '../util/sha256.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { extractUpload } from './archive/extract-upload.js';
import { detectApp } from './detect-app.js';
import { createSourceView, encodeSnapshot, freezeUpload, snapshotFiles } from './memory-source.js';
import { createSnapshot, normalizeOutputPath } from './snapshot.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('memory-source-test-');
});
after(async () => {
  await removeDir(work);
});

/** A tar.gz of a tree with everything a snapshot treats specially, made by node-tar. */
async function archive(files: Record<string, string>, links: Record<string, string> = {}, executables: string[] = []): Promise<Buffer> {
  const root = join(work, `src-${counter++}`);
  await mkdir(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  for (const [path, target] of Object.entries(links)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await symlink(target, join(root, path));
  }
  for (const path of executables) await chmod(join(root, path), 0o755);
  const out = join(work, `upload-${counter++}.tgz`);
  await tar.c({ gzip: true, cwd: root, file: out, portable: true }, await readdir(root));
  return readFile(out);
}

/** The snapshot sha256 through the tree on disk, as a publish made it before. */
async function throughTree(upload: Buffer, keepPath?: string): Promise<string> {
  const tree = join(work, `tree-${counter++}`);
  const result = await extractUpload({ input: Readable.from([upload]), format: 'tgz', destDir: tree, limits: DEFAULT_UPLOAD_LIMITS });
  assert.equal(result.memory, undefined);
  const outPath = join(work, `snap-${counter++}.tar`);
  return (await createSnapshot({ sourceDir: tree, outPath, keepPath })).sha256;
}

/** The snapshot sha256 through memory, and whether the tree dir stayed empty. */
async function throughMemory(upload: Buffer, keepPath?: string, budget = 32 * 1024 * 1024): Promise<{ sha256: string; onDisk: string[] }> {
  const tree = join(work, `mem-${counter++}`);
  const result = await extractUpload({ input: Readable.from([upload]), format: 'tgz', destDir: tree, limits: DEFAULT_UPLOAD_LIMITS, memoryBudgetBytes: budget });
  const onDisk = await readdir(tree);
  if (result.memory === undefined) {
    const outPath = join(work, `snap-${counter++}.tar`);
    return { sha256: (await createSnapshot({ sourceDir: tree, outPath, keepPath })).sha256, onDisk };
  }
  const { files } = freezeUpload(result.memory, keepPath === undefined ? undefined : normalizeOutputPath(keepPath));
  return { sha256: sha256Buffer(encodeSnapshot(files)), onDisk };
}

const SOURCE = {
  'index.html': '<h1>hi</h1>',
  'css/app.css': 'body{}',
  'bin/run.sh': '#!/bin/sh\necho hi\n',
  'src/build/keep.ts': 'a nested build/ folder is source',
  'node_modules/dep/index.js': 'excluded anywhere',
  'a/node_modules/b.js': 'excluded anywhere',
  'dist/out.js': 'excluded at the root',
  '.git/HEAD': 'excluded',
  [`deep/${'long-name-'.repeat(12)}/file.txt`]: 'a path longer than 100 bytes',
  'unicodé/ñame.txt': 'a PAX path',
};
const LINKS = {
  'alias.html': 'index.html',
  'css/also.css': '../css/app.css',
  'into-deps.js': 'node_modules/dep/index.js',
  'to-dir': 'css',
  'dangling': 'nothing-here',
  'chain.html': 'alias.html',
  'through-dir-link.css': 'to-dir/app.css',
};

test('an upload held in memory freezes to the byte-identical snapshot the tree on disk gives', async () => {
  const upload = await archive(SOURCE, LINKS, ['bin/run.sh']);
  const disk = await throughTree(upload);
  const memory = await throughMemory(upload);
  assert.deepEqual(memory.onDisk, [], 'nothing was written to disk');
  assert.equal(memory.sha256, disk);
});

test('a kept output_path survives the exclusions the same way in memory', async () => {
  const upload = await archive({ ...SOURCE, 'dist/index.html': '<p>prebuilt</p>', 'build/x/y.js': 'x' });
  for (const keep of ['dist', './dist/', 'build/x']) {
    assert.equal((await throughMemory(upload, keep)).sha256, await throughTree(upload, keep), keep);
  }
});

test('past the memory budget the upload goes to disk and still gives the same snapshot', async () => {
  const upload = await archive({ ...SOURCE, 'big.bin': 'x'.repeat(64 * 1024) }, LINKS, ['bin/run.sh']);
  const spilled = await throughMemory(upload, undefined, 16 * 1024);
  assert.notDeepEqual(spilled.onDisk, [], 'the tree is on disk');
  assert.equal(spilled.sha256, await throughTree(upload));
});

test('links are resolved as realpath would: files stand as the file, others are skipped with a reason', async () => {
  const upload = await archive(SOURCE, LINKS);
  const result = await extractUpload({ input: Readable.from([upload]), format: 'tgz', destDir: join(work, `m-${counter++}`), limits: DEFAULT_UPLOAD_LIMITS, memoryBudgetBytes: 1 << 20 });
  const { files, skipped } = freezeUpload(result.memory!);
  const byPath = new Map(files.map((f) => [f.path, f.data.toString()]));
  assert.equal(byPath.get('alias.html'), '<h1>hi</h1>');
  assert.equal(byPath.get('chain.html'), '<h1>hi</h1>');
  assert.equal(byPath.get('into-deps.js'), 'excluded anywhere');
  assert.equal(byPath.get('through-dir-link.css'), 'body{}');
  assert.deepEqual(skipped, [
    { path: 'dangling', reason: 'symlink target does not exist' },
    { path: 'to-dir', reason: 'symlink to something other than a regular file' },
  ]);
});

test('a snapshot read back in memory gives the files it was made of, and detection sees the same source as on disk', async () => {
  const sources: Array<Record<string, string>> = [
    { 'index.html': 'x' },
    { 'package.json': JSON.stringify({ scripts: { build: 'vite build' }, devDependencies: { vite: '^6.0.0' } }), 'index.html': 'x', 'vite.config.ts': '' },
    { 'public/index.html': 'x', 'package.json': JSON.stringify({ dependencies: { 'react-scripts': '5' }, scripts: { build: 'react-scripts build' } }) },
  ];
  for (const source of sources) {
    const upload = await archive(source);
    const tree = join(work, `detect-${counter++}`);
    await extractUpload({ input: Readable.from([upload]), format: 'tgz', destDir: tree, limits: DEFAULT_UPLOAD_LIMITS });
    const snap = await createSnapshot({ sourceDir: tree, outPath: join(work, `s-${counter++}.tar`) });
    const files = snapshotFiles(await readFile(join(work, `s-${counter - 1}.tar`)));
    assert.equal(sha256Buffer(encodeSnapshot(files)), snap.sha256);
    const options = { kind: 'auto' as const, pathEnv: '/usr/bin:/bin' };
    const onDisk = await detectApp(tree, options).catch((e: Error) => e.message);
    const inMemory = await detectApp(createSourceView(files), options).catch((e: Error) => e.message);
    assert.deepEqual(inMemory, onDisk, Object.keys(source).join(', '));
  }
});
