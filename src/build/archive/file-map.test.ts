import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError, type ErrorCode, type SlipwayError } from '../../core/errors.js';
import { DEFAULT_UPLOAD_LIMITS, type UploadLimits } from '../../core/limits.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { writeFileMap, type FileMapValue } from './file-map.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('file-map-test-');
});
after(async () => {
  await removeDir(work);
});

async function expectRefused(
  files: Record<string, FileMapValue>,
  code: ErrorCode,
  limits: UploadLimits = DEFAULT_UPLOAD_LIMITS,
): Promise<SlipwayError> {
  const destDir = join(work, `dest-${counter++}`);
  const err = await writeFileMap({ files, destDir, limits }).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  assert.ok(!existsSync(destDir) || (await readdir(destDir)).length === 0, 'destDir must stay empty');
  return err as SlipwayError;
}

test('writes text and base64 files, nested, as 0644', async () => {
  const destDir = join(work, 'ok');
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]);
  const result = await writeFileMap({
    files: {
      'index.html': '<h1>hi</h1>',
      './assets/logo.png': { content: png.toString('base64'), encoding: 'base64' },
      'assets/note.txt': { content: 'héllo', encoding: 'utf8' },
    },
    destDir,
    limits: DEFAULT_UPLOAD_LIMITS,
  });
  assert.deepEqual(result, { fileCount: 3, totalBytes: 11 + png.length + 6 });
  assert.equal(await readFile(join(destDir, 'index.html'), 'utf8'), '<h1>hi</h1>');
  assert.deepEqual(await readFile(join(destDir, 'assets/logo.png')), png);
  assert.equal(await readFile(join(destDir, 'assets/note.txt'), 'utf8'), 'héllo');
  assert.equal((await lstat(join(destDir, 'index.html'))).mode & 0o777, 0o644);
});

test('unsafe names are refused with unsafe_archive naming the entry', async () => {
  for (const name of ['/etc/passwd', '../evil', 'a/../../evil', '', './', 'a\\b', 'C:/x']) {
    const err = await expectRefused({ 'ok.txt': 'fine', [name]: 'x' }, 'unsafe_archive');
    assert.equal(err.details.entry, name);
  }
});

test('one name used as a file and as a folder is refused', async () => {
  await expectRefused({ a: 'file', 'a/b': 'under a file' }, 'unsafe_archive');
  await expectRefused({ 'a/b': 'x', a: 'then a file' }, 'unsafe_archive');
  await expectRefused({ a: 'x', './a': 'same file twice' }, 'unsafe_archive');
});

test('bad values and encodings are invalid_request', async () => {
  const bad = [
    { content: 'x', encoding: 'hex' },
    { content: 42, encoding: 'utf8' },
    { content: 'not base64!', encoding: 'base64' },
    { content: 'abcde', encoding: 'base64' },
    { content: 'ab=c', encoding: 'base64' },
    null,
    7,
  ];
  for (const value of bad) {
    const err = await expectRefused({ 'f.bin': value as FileMapValue }, 'invalid_request');
    assert.equal(err.details.field, 'files.f.bin');
  }
  await expectRefused([] as unknown as Record<string, FileMapValue>, 'invalid_request');
});

test('unpadded base64 and base64 with line breaks are accepted', async () => {
  const destDir = join(work, 'b64');
  await writeFileMap({
    files: { a: { content: 'aGk', encoding: 'base64' }, b: { content: 'aGVs\nbG8=', encoding: 'base64' } },
    destDir,
    limits: DEFAULT_UPLOAD_LIMITS,
  });
  assert.equal(await readFile(join(destDir, 'a'), 'utf8'), 'hi');
  assert.equal(await readFile(join(destDir, 'b'), 'utf8'), 'hello');
});

test('limits and emptiness', async () => {
  await expectRefused({}, 'empty_source');
  const tooMany = await expectRefused({ a: '1', b: '2', c: '3' }, 'too_many_files', { ...DEFAULT_UPLOAD_LIMITS, maxFiles: 2 });
  assert.equal(tooMany.details.limit, 2);
  const tooBig = await expectRefused({ a: 'x'.repeat(60), b: 'y'.repeat(60) }, 'archive_too_large', {
    ...DEFAULT_UPLOAD_LIMITS,
    maxUnpackedBytes: 100,
  });
  assert.equal(tooBig.details.limit, 100);
});
