import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { isSlipwayError, type ErrorCode } from '../core/errors.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { rawTar, type RawEntry } from './archive/raw-tar-fixture.js';
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
