import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listTar, type ListedEntry } from '../../../test/support/archive/list-tar.js';
import { isSlipwayError } from '../../core/errors.js';
import { sha256File } from '../../util/sha256.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { writeDeterministicTar, type TarEntry } from './deterministic-tar.js';

let work: string;
before(async () => {
  work = await makeTempDir('deterministic-tar-test-');
});
after(async () => {
  await removeDir(work);
});

type Listed = Omit<ListedEntry, 'body'> & { body: string };

async function list(file: string): Promise<Listed[]> {
  return (await listTar(file)).map((e) => ({ ...e, body: e.body.toString() }));
}

async function makeTree(dir: string, mtime: Date): Promise<TarEntry[]> {
  await mkdir(join(dir, 'sub'), { recursive: true });
  await writeFile(join(dir, 'a.txt'), 'alpha');
  await writeFile(join(dir, 'sub', 'b.js'), 'x'.repeat(1000));
  for (const p of ['a.txt', 'sub/b.js']) await utimes(join(dir, p), mtime, mtime);
  return [
    { path: 'a.txt', file: join(dir, 'a.txt') },
    { path: 'inline.json', data: Buffer.from('{"k":1}') },
    { path: 'sub/b.js', file: join(dir, 'sub', 'b.js'), mode: 0o755 },
  ];
}

test('trees made at different times give byte-identical tars', async () => {
  const one = await makeTree(join(work, 'one'), new Date('2001-01-01T00:00:00Z'));
  const two = await makeTree(join(work, 'two'), new Date());
  const a = await writeDeterministicTar(one, join(work, 'one.tar'));
  const b = await writeDeterministicTar(two, join(work, 'two.tar'));
  assert.equal(a.sha256, b.sha256);
  assert.deepEqual(await sha256File(join(work, 'one.tar')), a);
  assert.equal(a.size, (await stat(join(work, 'one.tar'))).size);
});

test('entries carry mtime 0, uid/gid 0, the given modes and exact bytes, in the given order', async () => {
  const entries = await makeTree(join(work, 'three'), new Date());
  await writeDeterministicTar(entries, join(work, 'three.tar'));
  const listed = await list(join(work, 'three.tar'));
  assert.deepEqual(
    listed.map((e) => [e.path, e.type, e.mode, e.mtime, e.uid, e.gid, e.size]),
    [
      ['a.txt', 'File', 0o644, 0, 0, 0, 5],
      ['inline.json', 'File', 0o644, 0, 0, 0, 7],
      ['sub/b.js', 'File', 0o755, 0, 0, 0, 1000],
    ],
  );
  assert.equal(listed[1]?.body, '{"k":1}');
});

test('long and non-ASCII paths round-trip through node-tar and GNU tar', async () => {
  const long = `${'deep/'.repeat(40)}${'n'.repeat(150)}.html`;
  const unicode = 'café/日本語.txt';
  const file = join(work, 'long.tar');
  await writeDeterministicTar(
    [
      { path: long, data: Buffer.from('long') },
      { path: unicode, data: Buffer.from('uni') },
    ],
    file,
  );
  const listed = await list(file);
  assert.deepEqual(
    listed.map((e) => [e.path, e.body]),
    [
      [long, 'long'],
      [unicode, 'uni'],
    ],
  );
  const gnu = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(gnu, [long, unicode]);
});

test('an empty list gives just the end blocks', async () => {
  const digest = await writeDeterministicTar([], join(work, 'empty.tar'));
  assert.equal(digest.size, 1024);
  assert.deepEqual(await readFile(join(work, 'empty.tar')), Buffer.alloc(1024));
});

test('invalid entries are refused and no file is left behind', async () => {
  const bad: TarEntry[][] = [
    [{ path: 'dup', data: Buffer.from('1') }, { path: 'dup', data: Buffer.from('2') }],
    [{ path: 'both', data: Buffer.from('1'), file: '/etc/hostname' }],
    [{ path: 'neither' }],
    [{ path: './not-normal', data: Buffer.from('1') }],
  ];
  for (const entries of bad) {
    await assert.rejects(writeDeterministicTar(entries, join(work, 'bad.tar')), (e) => isSlipwayError(e));
  }
  await assert.rejects(
    writeDeterministicTar([{ path: 'gone', file: join(work, 'missing') }], join(work, 'bad.tar')),
    { code: 'ENOENT' },
  );
  assert.equal(existsSync(join(work, 'bad.tar')), false);
});
