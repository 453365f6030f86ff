import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Header, create } from 'tar';
import { isSlipwayError } from '../core/errors.js';
import { TarWalk, paddedSize, readTarEntries } from './tar-entries.js';
import { writeTar } from '../../test/support/edge/test-helpers.js';

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

test('refuses an extended header larger than any real name needs, before reading its body', () => {
  const size = 2 * 1024 * 1024;
  const block = Buffer.alloc(512);
  new Header({ path: 'PaxHeader/a.txt', type: 'ExtendedHeader', size, mode: 0o644, mtime: new Date(0) }).encode(block, 0);
  const tar = Buffer.concat([block, Buffer.alloc(size), writeTar([{ path: 'a.txt', data: Buffer.from('A') }])]);
  assert.throws(() => readTarEntries(tar), (e) => isSlipwayError(e, 'invalid_archive') && /extended header too large/.test(e.message));
});

test('a walk fed block by block sees what the in-memory read sees, with each body at its offset', () => {
  const longName = `${'n'.repeat(150)}/file.txt`;
  const tar = writeTar([{ path: 'a.txt', data: Buffer.from('A'.repeat(513)) }, { path: longName, data: Buffer.from('B') }]);
  const walk = new TarWalk();
  const seen: Array<[string, string]> = [];
  for (let offset = 0; ;) {
    const step = walk.header(tar.subarray(offset, offset + 512), offset);
    if (step.kind === 'end') break;
    const body = tar.subarray(offset + 512, offset + 512 + step.size);
    if (step.kind === 'meta') walk.meta(body);
    if (step.kind === 'file') seen.push([step.path, body.toString()]);
    offset += 512 + paddedSize(step.size);
  }
  assert.deepEqual(seen, readTarEntries(tar).map((e) => [e.path, e.data.toString()]));
  assert.deepEqual(seen, [['a.txt', 'A'.repeat(513)], [longName, 'B']]);
});

test('a foreign walk hands on every entry the strict walk refuses or skips, and refuses a link without a target', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-tar-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'sub'));
  await symlink('sub', join(dir, 'link'));
  const chunks: Buffer[] = [];
  for await (const chunk of create({ cwd: dir, portable: true }, ['sub', 'link'])) chunks.push(Buffer.from(chunk as Buffer));
  const tar = Buffer.concat(chunks);
  const walk = new TarWalk({ what: 'upload' });
  const seen: Array<[string, string, string | undefined]> = [];
  for (let offset = 0; ; ) {
    const step = walk.foreignHeader(tar.subarray(offset, offset + 512), offset);
    if (step.kind === 'end') break;
    if (step.kind === 'entry') seen.push([step.entry.path, step.entry.type, step.entry.linkpath]);
    offset += 512 + paddedSize(step.size);
  }
  assert.deepEqual(seen, [['sub/', 'Directory', undefined], ['link', 'SymbolicLink', 'sub']]);
  assert.throws(() => readTarEntries(tar), (e) => isSlipwayError(e, 'invalid_archive'), 'the strict walk refuses the link');

  const noTarget = Buffer.alloc(512);
  new Header({ path: 'l', type: 'SymbolicLink', size: 0, mode: 0o777, mtime: new Date(0) }).encode(noTarget, 0);
  assert.throws(() => new TarWalk({ what: 'upload' }).foreignHeader(noTarget, 0), (e) => isSlipwayError(e, 'invalid_archive') && /^upload: a link without a target/.test(e.message));
});
