import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { rawTar } from '../../test/support/archive/raw-tar-fixture.js';
import { writeDeterministicTar } from './archive/deterministic-tar.js';
import { extractSnapshotInMemory } from './snapshot-extract.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await removeDir(d);
});
async function temp(): Promise<string> {
  const d = await makeTempDir('snapshot-extract-test-');
  dirs.push(d);
  return d;
}

test('unpacks files, nested folders, long names and the executable bit', async () => {
  const work = await temp();
  const long = `${'deep/'.repeat(30)}file.txt`;
  await writeDeterministicTar([
    { path: 'a/b/c.txt', data: Buffer.from('c') },
    { path: long, data: Buffer.from('long') },
    { path: 'run.sh', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  ], join(work, 's.tar'));
  const dest = join(work, 'out');
  const result = await extractSnapshotInMemory(join(work, 's.tar'), dest);
  assert.deepEqual(result, { fileCount: 3, totalBytes: 1 + 4 + 18 });
  assert.equal(await readFile(join(dest, 'a/b/c.txt'), 'utf8'), 'c');
  assert.equal(await readFile(join(dest, long), 'utf8'), 'long');
  assert.equal((await stat(join(dest, 'run.sh'))).mode & 0o777, 0o755);
  assert.equal((await stat(join(dest, 'a/b/c.txt'))).mode & 0o777, 0o644);
});

test('a damaged or foreign snapshot writes nothing outside, or at all', async () => {
  const work = await temp();
  const cases: Array<[string, Buffer, string]> = [
    ['escaping path', rawTar([{ name: 'ok.txt', body: 'x' }, { name: '../evil', body: 'x' }]), 'unsafe_archive'],
    ['symlink', rawTar([{ name: 'link', type: '2', linkname: '/etc/passwd' }]), 'invalid_archive'],
    ['truncated', rawTar([{ name: 'a', body: 'x' }], { end: false }), 'invalid_archive'],
  ];
  for (const [what, tar, code] of cases) {
    await writeFile(join(work, `${what}.tar`), tar);
    const dest = join(work, `${what}-out`);
    await assert.rejects(extractSnapshotInMemory(join(work, `${what}.tar`), dest), (e) => isSlipwayError(e, code as never), what);
    assert.deepEqual(await readdir(dest).catch(() => []), [], `${what}: nothing written`);
  }
  assert.deepEqual((await readdir(work)).filter((n) => n === 'evil'), []);
});
