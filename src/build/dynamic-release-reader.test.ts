import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isSlipwayError, type ErrorCode } from '../core/errors.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { rawTar, type RawEntry } from '../../test/support/archive/raw-tar-fixture.js';
import { extractDynamicRelease } from './dynamic-release-reader.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('dynamic-release-reader-test-');
});
after(async () => {
  await removeDir(work);
});

const MANIFEST = { format: 1, kind: 'dynamic', run_command: 'node s.js', port: 3000, detected: 'explicit' };
const manifestEntry = (body: unknown = MANIFEST): RawEntry => ({ name: 'release.json', body: JSON.stringify(body) });

async function release(entries: RawEntry[]): Promise<string> {
  const path = join(work, `release-${counter++}.tar.gz`);
  await writeFile(path, gzipSync(rawTar(entries)));
  return path;
}

async function refused(entries: RawEntry[], code: ErrorCode): Promise<string> {
  const dest = join(work, `dest-${counter++}`);
  const err = await extractDynamicRelease(await release(entries), dest).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  assert.deepEqual(await readdir(dest).catch(() => []), [], 'nothing is left behind');
  return err.message;
}

test('a well-formed release unpacks app/ into the destination and returns its manifest', async () => {
  const dest = join(work, 'ok');
  const manifest = await extractDynamicRelease(
    await release([
      manifestEntry(),
      { name: 'app/', type: '5', mode: 0o755 },
      { name: 'app/s.js', body: 'console.log(1)' },
      { name: 'app/bin/run', body: '#!/bin/sh\n', mode: 0o755 },
      { name: 'app/node_modules/.bin/run', type: '2', linkname: '../../bin/run' },
    ]),
    dest,
  );
  assert.deepEqual(manifest, MANIFEST);
  assert.equal(await readFile(join(dest, 's.js'), 'utf8'), 'console.log(1)');
  assert.equal(await readlink(join(dest, 'node_modules/.bin/run')), '../../bin/run');
  assert.deepEqual((await readdir(dest)).sort(), ['bin', 'node_modules', 's.js']);
});

test('a release without its manifest first, or with a bad one, is invalid_archive', async () => {
  await refused([{ name: 'app/s.js', body: 'x' }, manifestEntry()], 'invalid_archive');
  await refused([{ name: 'release.json', body: '{nope' }], 'invalid_archive');
  await refused([manifestEntry({ ...MANIFEST, kind: 'static' })], 'invalid_archive');
  await refused([manifestEntry({ ...MANIFEST, port: 0 })], 'invalid_archive');
  await refused([manifestEntry({ ...MANIFEST, run_command: '' })], 'invalid_archive');
});

test('entries that would land outside the destination are unsafe_archive', async () => {
  const cases: RawEntry[] = [
    { name: '/etc/evil', body: 'x' },
    { name: 'app/../evil', body: 'x' },
    { name: 'evil', body: 'x' },
    { name: 'app/link', type: '2', linkname: '/etc/passwd' },
    { name: 'app/link', type: '2', linkname: '../release.json' },
    { name: 'app/hard', type: '1', linkname: 'app/s.js' },
    { name: 'app/dev', type: '3' },
  ];
  for (const bad of cases) await refused([manifestEntry(), { name: 'app/s.js', body: 'x' }, bad], 'unsafe_archive');
});

test('a link that escapes only through another link is refused too', async () => {
  const message = await refused(
    [manifestEntry(), { name: 'app/d/b', type: '2', linkname: '..' }, { name: 'app/d/a', type: '2', linkname: 'b/../..' }],
    'unsafe_archive',
  );
  assert.match(message, /outside/);
  await refused([manifestEntry(), { name: 'app/l', type: '2', linkname: 'sub' }, { name: 'app/l/x', body: 'through the link' }], 'unsafe_archive');
});

/** A seeded tree of many files in nested folders: small ones (written from memory) and large ones (streamed). */
function manyFiles(count: number): RawEntry[] {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const dirs = ['app'];
  for (let i = 0; dirs.length < 40; i++) {
    const dir = `${dirs[next(dirs.length)]}/d${i}`;
    // The hand-made headers hold names of up to 100 bytes.
    if (dir.length < 70) dirs.push(dir);
  }
  const entries: RawEntry[] = [];
  for (let i = 0; i < count; i++) {
    const size = i % 97 === 0 ? 1024 * 1024 + 1 + next(4096) : next(20_000);
    const body = Buffer.alloc(size, `file ${i} `);
    entries.push({ name: `${dirs[next(dirs.length)]}/f${i}`, body, mode: i % 5 === 0 ? 0o755 : 0o644 });
  }
  return entries;
}

test('many files in nested folders unpack with their contents and modes, whatever the umask', async () => {
  const files = manyFiles(300);
  const rel = await release([manifestEntry(), ...files, { name: 'app/d0/', type: '5' }, { name: 'app/link', type: '2', linkname: 'd0' }]);
  for (const mask of [0o022, 0o077]) {
    const dest = join(work, `many-${counter++}`);
    const previous = process.umask(mask);
    try {
      await extractDynamicRelease(rel, dest);
    } finally {
      process.umask(previous);
    }
    for (const file of files) {
      const path = join(dest, String(file.name).slice('app/'.length));
      assert.ok((await readFile(path)).equals(file.body as Buffer), `${String(file.name)} has its content`);
      assert.equal((await stat(path)).mode & 0o777, file.mode, `${String(file.name)} has mode ${file.mode?.toString(8)}`);
    }
    assert.equal((await stat(join(dest, 'd0'))).mode & 0o777, 0o755, 'folders are 0755 even under a strict umask');
    assert.equal(await readlink(join(dest, 'link')), 'd0');
    assert.ok(!(await readdir(dest)).includes('.umask-probe'));
  }
});

test('a hostile entry after many writes were queued is still refused, and nothing is left behind', async () => {
  const files = manyFiles(200);
  await refused([manifestEntry(), ...files, { name: 'app/l', type: '2', linkname: 'd0' }, { name: 'app/l/x', body: 'through the link' }], 'unsafe_archive');
  await refused([manifestEntry(), ...files, { name: 'app/../evil', body: 'x' }], 'unsafe_archive');
  await refused([manifestEntry(), ...files, { name: `${String(files[3]?.name)}/under-a-file`, body: 'x' }], 'unsafe_archive');
  await refused([manifestEntry(), ...files, { name: String(files[0]?.name), body: 'again' }], 'unsafe_archive');
  // Escapes only once every link is known, after every file was written.
  await refused([manifestEntry(), { name: 'app/d/b', type: '2', linkname: '..' }, ...files, { name: 'app/d/a', type: '2', linkname: 'b/../..' }], 'unsafe_archive');
});
