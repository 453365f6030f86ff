import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { isSlipwayError } from '../core/errors.js';
import { readTarEntries } from './tar-entries.js';
import { writeTar } from '../edge/test-helpers.js';

const longDir = 'd'.repeat(120);
const veryLong = `${'x'.repeat(90)}/${'y'.repeat(90)}/${'z'.repeat(90)}/é-file.txt`;

test('reads names split into the ustar prefix and PAX long names', () => {
  const entries = [
    { path: 'a.txt', data: Buffer.from('A') },
    { path: `${longDir}/b.txt`, data: Buffer.from('B'.repeat(700)) },
    { path: veryLong, data: Buffer.alloc(0) },
  ];
  const read = readTarEntries(writeTar(entries));
  assert.deepEqual(read.map((e) => [e.path, e.data.toString()]), entries.map((e) => [e.path, e.data.toString()]));
});

test('reads a tar written by tar@7 from disk, skipping directory entries', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-tar-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'site', longDir), { recursive: true });
  await writeFile(join(dir, 'site', longDir, 'deep.txt'), 'deep');
  await writeFile(join(dir, 'site', 'top.txt'), 'top');
  const chunks: Buffer[] = [];
  const stream = create({ cwd: dir, portable: true, noMtime: true }, ['site']);
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  const read = readTarEntries(Buffer.concat(chunks));
  assert.deepEqual(
    read.map((e) => [e.path, e.data.toString()]).sort(),
    [[`site/${longDir}/deep.txt`, 'deep'], ['site/top.txt', 'top']],
  );
});

test('refuses bad checksums, truncation, duplicates and links', async (t) => {
  const good = writeTar([{ path: 'a.txt', data: Buffer.from('hello') }]);
  const flipped = Buffer.from(good);
  flipped[10] = 0x41;
  const duplicate = writeTar([{ path: 'a', data: Buffer.from('1') }, { path: 'a', data: Buffer.from('2') }]);
  const cases: Array<[string, Buffer]> = [
    ['bad checksum', flipped],
    ['truncated body', good.subarray(0, 600)],
    ['no end marker', good.subarray(0, 1024)],
    ['duplicate', duplicate],
  ];
  const dir = await mkdtemp(join(tmpdir(), 'edge-tar-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await symlink('/etc/passwd', join(dir, 'link'));
  const chunks: Buffer[] = [];
  for await (const chunk of create({ cwd: dir, portable: true }, ['link'])) chunks.push(Buffer.from(chunk as Buffer));
  cases.push(['symlink', Buffer.concat(chunks)]);
  for (const [name, tar] of cases) {
    assert.throws(() => readTarEntries(tar), (e) => isSlipwayError(e, 'invalid_archive'), name);
  }
});
