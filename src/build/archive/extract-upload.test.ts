import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { isSlipwayError, type ErrorCode, type SlipwayError } from '../../core/errors.js';
import { DEFAULT_UPLOAD_LIMITS, type UploadLimits } from '../../core/limits.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { extractUpload } from './extract-upload.js';
import { paxEntry, rawTar, type RawEntry } from '../../../test/support/archive/raw-tar-fixture.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('extract-upload-test-');
});
after(async () => {
  await removeDir(work);
});

async function writeArchive(bytes: Buffer): Promise<string> {
  const path = join(work, `archive-${counter++}`);
  await writeFile(path, bytes);
  return path;
}

function freshDest(): string {
  return join(work, `dest-${counter++}`);
}

async function destIsUntouched(dest: string): Promise<boolean> {
  return !existsSync(dest) || (await readdir(dest)).length === 0;
}

/** Extracts and expects `code`; also checks that nothing was written. */
async function expectRefused(
  bytes: Buffer,
  code: ErrorCode,
  options: { format?: 'tar' | 'tgz'; limits?: UploadLimits } = {},
): Promise<SlipwayError> {
  const dest = freshDest();
  const err = await extractUpload({
    archivePath: await writeArchive(bytes),
    format: options.format ?? 'tar',
    destDir: dest,
    limits: options.limits ?? DEFAULT_UPLOAD_LIMITS,
  }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  assert.ok(await destIsUntouched(dest), 'destDir must stay empty');
  return err as SlipwayError;
}

const file = (name: string, body = 'x'): RawEntry => ({ name, body });

describe('extractUpload accepts ordinary archives', () => {
  test('a tar made by node-tar round-trips with modes normalized and symlinks kept', async () => {
    const src = join(work, 'src-ok');
    await mkdir(join(src, 'assets', 'deep'), { recursive: true });
    await writeFile(join(src, 'index.html'), '<h1>hi</h1>');
    await writeFile(join(src, 'assets', 'deep', 'app.js'), 'console.log(1)');
    await writeFile(join(src, 'run.sh'), '#!/bin/sh\n');
    await chmod(join(src, 'run.sh'), 0o775);
    await chmod(join(src, 'index.html'), 0o600);
    await symlink('assets/deep/app.js', join(src, 'alias.js'));
    const archivePath = join(work, 'ok.tar');
    await tar.c({ file: archivePath, cwd: src, portable: true }, ['.']);
    const dest = freshDest();
    const result = await extractUpload({ archivePath, format: 'tar', destDir: dest, limits: DEFAULT_UPLOAD_LIMITS });
    assert.deepEqual(result, { fileCount: 4, totalBytes: 11 + 14 + 10 });
    assert.equal(await readFile(join(dest, 'index.html'), 'utf8'), '<h1>hi</h1>');
    assert.equal(await readFile(join(dest, 'assets/deep/app.js'), 'utf8'), 'console.log(1)');
    assert.equal((await lstat(join(dest, 'index.html'))).mode & 0o7777, 0o644);
    assert.equal((await lstat(join(dest, 'run.sh'))).mode & 0o7777, 0o755);
    assert.equal(await readlink(join(dest, 'alias.js')), 'assets/deep/app.js');
  });

  test('tar.gz, leading ./, and a symlink to a directory inside', async () => {
    const bytes = rawTar([
      { name: './', type: '5' },
      { name: './site/', type: '5' },
      file('./site/index.html', 'hello'),
      { name: './current', type: '2', linkname: 'site' },
      { name: 'site/up', type: '2', linkname: '../site/index.html' },
    ]);
    const dest = freshDest();
    const result = await extractUpload({
      archivePath: await writeArchive(gzipSync(bytes)),
      format: 'tgz',
      destDir: dest,
      limits: DEFAULT_UPLOAD_LIMITS,
    });
    assert.deepEqual(result, { fileCount: 3, totalBytes: 5 });
    assert.equal(await readFile(join(dest, 'current/index.html'), 'utf8'), 'hello');
    assert.equal(await readFile(join(dest, 'site/up'), 'utf8'), 'hello');
  });

  test('a long name through PAX is written where it says', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.txt`;
    const dest = freshDest();
    await extractUpload({
      archivePath: await writeArchive(rawTar([paxEntry({ path: long }), file('short-name', 'long')])),
      format: 'tar',
      destDir: dest,
      limits: DEFAULT_UPLOAD_LIMITS,
    });
    assert.equal(await readFile(join(dest, long), 'utf8'), 'long');
    assert.equal(existsSync(join(dest, 'short-name')), false);
  });
});

describe('extractUpload refuses unsafe entries before writing anything', () => {
  const cases: Array<[string, RawEntry[], string]> = [
    ['absolute path', [file('ok.txt'), file('/etc/passwd')], '/etc/passwd'],
    ['parent segment', [file('ok.txt'), file('../evil')], '../evil'],
    ['parent segment deep', [file('a/b/../../../evil')], 'a/b/../../../evil'],
    ['backslash', [file('a\\..\\..\\evil')], 'a\\..\\..\\evil'],
    ['control character', [file('bad\nname')], 'bad\nname'],
    ['drive letter', [file('C:/windows/evil')], 'C:/windows/evil'],
    ['hardlink', [file('ok.txt'), { name: 'hard', type: '1', linkname: 'ok.txt' }], 'hard'],
    ['character device', [{ name: 'tty', type: '3' }], 'tty'],
    ['block device', [{ name: 'sda', type: '4' }], 'sda'],
    ['FIFO', [{ name: 'pipe', type: '6' }], 'pipe'],
    ['sparse file', [{ name: 'sparse', type: 'S' }], 'sparse'],
    ['absolute symlink', [{ name: 'l', type: '2', linkname: '/etc/passwd' }], 'l'],
    ['escaping symlink', [{ name: 'a/l', type: '2', linkname: '../../etc' }], 'a/l'],
    [
      'symlink escaping through another symlink',
      [
        { name: 'a/b/d', type: '2', linkname: '..' },
        { name: 'a/b/s', type: '2', linkname: 'd/../../..' },
      ],
      'a/b/s',
    ],
    [
      'symlink loop',
      [
        { name: 'a', type: '2', linkname: 'b' },
        { name: 'b', type: '2', linkname: 'a' },
      ],
      'a',
    ],
    ['file under a symlink', [{ name: 'a', type: '2', linkname: 'sub' }, file('sub/x'), file('a/b')], 'a/b'],
    ['symlink over an existing directory', [file('a/b'), { name: 'a', type: '2', linkname: '.' }], 'a'],
    ['duplicate file', [file('same'), file('same')], 'same'],
    ['file under a file', [file('f'), file('f/g')], 'f/g'],
    ['directory over a file', [file('f'), { name: 'f/', type: '5' }], 'f/'],
    ['PAX path override', [paxEntry({ path: '../../evil' }), file('innocent')], '../../evil'],
    ['PAX linkpath override', [paxEntry({ linkpath: '/etc' }), { name: 'l', type: '2', linkname: 'ok' }], 'l'],
    ['GNU long name', [{ name: '././@LongLink', type: 'L', body: '../../evil\0' }, file('innocent')], '../../evil'],
  ];
  for (const [label, entries, entry] of cases) {
    test(label, async () => {
      const err = await expectRefused(rawTar(entries), 'unsafe_archive');
      assert.equal(err.details.entry, entry);
      assert.equal(typeof err.details.reason, 'string');
    });
  }

  test('the same refusal applies inside a tar.gz', async () => {
    await expectRefused(gzipSync(rawTar([file('ok'), file('../evil')])), 'unsafe_archive', { format: 'tgz' });
  });
});

describe('extractUpload refuses broken or oversized archives', () => {
  test('not a tar at all', async () => {
    await expectRefused(Buffer.alloc(4096, 'not a tar'), 'invalid_archive');
  });
  test('a zero-byte body', async () => {
    await expectRefused(Buffer.alloc(0), 'invalid_archive');
  });
  test('a bad header checksum', async () => {
    await expectRefused(rawTar([file('ok'), { name: 'bad', body: 'x', badChecksum: true }]), 'invalid_archive');
  });
  test('a body cut short', async () => {
    const whole = rawTar([file('big', 'y'.repeat(5000))], { end: false });
    await expectRefused(whole.subarray(0, 2048), 'invalid_archive');
  });
  test('cut off between entries, without the end blocks', async () => {
    await expectRefused(rawTar([file('a'), file('b')], { end: false }), 'invalid_archive');
  });
  test('gzip declared but plain tar sent, and the reverse', async () => {
    const plain = rawTar([file('a')]);
    await expectRefused(plain, 'invalid_archive', { format: 'tgz' });
    await expectRefused(gzipSync(plain), 'invalid_archive', { format: 'tar' });
  });
  test('a corrupt gzip stream', async () => {
    const gz = gzipSync(rawTar([file('a', 'z'.repeat(10_000))]));
    await expectRefused(gz.subarray(0, gz.length - 20), 'invalid_archive', { format: 'tgz' });
  });
  test('more files than the limit', async () => {
    const limits = { ...DEFAULT_UPLOAD_LIMITS, maxFiles: 2 };
    const err = await expectRefused(rawTar([file('a'), file('b'), file('c')]), 'too_many_files', { limits });
    assert.equal(err.details.limit, 2);
  });
  test('more unpacked bytes than the limit', async () => {
    const limits = { ...DEFAULT_UPLOAD_LIMITS, maxUnpackedBytes: 1000 };
    const err = await expectRefused(rawTar([file('a', 'a'.repeat(600)), file('b', 'b'.repeat(600))]), 'archive_too_large', {
      limits,
    });
    assert.equal(err.details.limit, 1000);
  });
  test('a header claiming a huge size is refused by the limit, not read', async () => {
    const bytes = rawTar([{ name: 'huge', size: 2 ** 40 }], { end: false });
    await expectRefused(bytes, 'archive_too_large');
  });
  test('an upload larger than maxUploadBytes', async () => {
    const limits = { ...DEFAULT_UPLOAD_LIMITS, maxUploadBytes: 1024 };
    await expectRefused(rawTar([file('a', 'a'.repeat(2000))]), 'payload_too_large', { limits });
  });
  test('an archive of nothing, or of directories only, is an empty source', async () => {
    await expectRefused(Buffer.alloc(10240), 'empty_source');
    await expectRefused(rawTar([{ name: 'dir/', type: '5' }, { name: './', type: '5' }]), 'empty_source');
  });
  test('a destination that is not empty is refused and left alone', async () => {
    const dest = freshDest();
    await mkdir(dest);
    await writeFile(join(dest, 'keep'), 'mine');
    const err = await extractUpload({
      archivePath: await writeArchive(rawTar([file('a')])),
      format: 'tar',
      destDir: dest,
      limits: DEFAULT_UPLOAD_LIMITS,
    }).catch((e: unknown) => e);
    assert.ok(isSlipwayError(err, 'internal_error'));
    assert.deepEqual(await readdir(dest), ['keep']);
  });
});
