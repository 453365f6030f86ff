import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { createSnapshot, extractSnapshot } from './snapshot.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('snapshot-test-');
});
after(async () => {
  await removeDir(work);
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = join(work, `tree-${counter++}`);
  await mkdir(root);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await listFiles(p, base)));
    else out.push(relative(base, p));
  }
  return out.sort();
}

async function roundTrip(sourceDir: string, keepPath?: string): Promise<{ dest: string; files: string[] }> {
  const outPath = join(work, `snap-${counter++}.tar`);
  await createSnapshot({ sourceDir, outPath, keepPath });
  const dest = join(work, `out-${counter++}`);
  await extractSnapshot(outPath, dest);
  return { dest, files: await listFiles(dest) };
}

const SOURCE = {
  'package.json': '{}',
  'src/index.ts': 'x',
  'src/build/keep.ts': 'a nested build/ folder is source',
  'node_modules/dep/index.js': 'x',
  'packages/a/node_modules/dep/x.js': 'x',
  '.git/HEAD': 'x',
  'app/__pycache__/m.pyc': 'x',
  'dist/index.html': 'x',
  'build/out.js': 'x',
  'target/release/bin': 'x',
  '.next/cache/x': 'x',
  '.next/server/page.js': 'kept: only .next/cache is excluded',
};

test('applies the exclusions anywhere and at the root only', async () => {
  const { files } = await roundTrip(await tree(SOURCE));
  assert.deepEqual(files, ['.next/server/page.js', 'package.json', 'src/build/keep.ts', 'src/index.ts']);
});

test('keepPath keeps an explicit output folder, and only it', async () => {
  const root = await tree({ ...SOURCE, 'build/site/index.html': 'site' });
  assert.ok((await roundTrip(root, './dist/')).files.includes('dist/index.html'));
  const nested = await roundTrip(root, 'build/site');
  assert.ok(nested.files.includes('build/site/index.html'));
  assert.ok(!nested.files.includes('build/out.js'));
});

test('identical trees made at different times give the same sha256', async () => {
  const a = await tree(SOURCE);
  const b = await tree(SOURCE);
  const old = new Date('2000-01-01T00:00:00Z');
  await utimes(join(a, 'package.json'), old, old);
  const one = await createSnapshot({ sourceDir: a, outPath: join(work, 'a.tar') });
  const two = await createSnapshot({ sourceDir: b, outPath: join(work, 'b.tar') });
  assert.equal(one.sha256, two.sha256);
  assert.equal(one.fileCount, 4);
  await writeFile(join(b, 'package.json'), '{"changed":true}');
  const three = await createSnapshot({ sourceDir: b, outPath: join(work, 'c.tar') });
  assert.notEqual(three.sha256, one.sha256);
});

test('keeps the executable bit and nothing else of the mode', async () => {
  const root = await tree({ 'run.sh': '#!/bin/sh', 'secret.txt': 'x' });
  await chmod(join(root, 'run.sh'), 0o700);
  await chmod(join(root, 'secret.txt'), 0o600);
  const { dest } = await roundTrip(root);
  assert.equal((await lstat(join(dest, 'run.sh'))).mode & 0o777, 0o755);
  assert.equal((await lstat(join(dest, 'secret.txt'))).mode & 0o777, 0o644);
});

test('symlinks to files inside become files; other links are skipped and reported', async () => {
  const outside = await tree({ 'secret.txt': 'outside' });
  const root = await tree({ 'real.txt': 'real', 'dir/x.txt': 'x' });
  await symlink('real.txt', join(root, 'alias.txt'));
  await symlink(join(outside, 'secret.txt'), join(root, 'escape.txt'));
  await symlink('dir', join(root, 'dirlink'));
  await symlink('missing', join(root, 'dangling'));
  const outPath = join(work, `links-${counter++}.tar`);
  const result = await createSnapshot({ sourceDir: root, outPath });
  assert.deepEqual(
    result.skipped.map((s) => s.path),
    ['dangling', 'dirlink', 'escape.txt'],
  );
  const dest = join(work, `links-out-${counter++}`);
  await extractSnapshot(outPath, dest);
  assert.deepEqual(await listFiles(dest), ['alias.txt', 'dir/x.txt', 'real.txt']);
  assert.equal((await lstat(join(dest, 'alias.txt'))).isFile(), true);
  assert.equal(await readFile(join(dest, 'alias.txt'), 'utf8'), 'real');
});

test('a source with no files, or only excluded ones, is empty_source', async () => {
  const empty = await tree({});
  await mkdir(join(empty, 'just-a-dir'));
  const onlyDeps = await tree({ 'node_modules/x.js': 'x' });
  for (const sourceDir of [empty, onlyDeps]) {
    await assert.rejects(createSnapshot({ sourceDir, outPath: join(work, 'never.tar') }), (e) =>
      isSlipwayError(e, 'empty_source'),
    );
  }
});

test('a keepPath leaving the source is invalid_request', async () => {
  const root = await tree({ 'a.txt': 'a' });
  for (const keepPath of ['../elsewhere', '/abs']) {
    await assert.rejects(createSnapshot({ sourceDir: root, outPath: join(work, 'never.tar'), keepPath }), (e) =>
      isSlipwayError(e, 'invalid_request'),
    );
  }
});
