import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { isSha256Hex, sha256Buffer, sha256File, sha256Stream, Sha256Tap } from './sha256.js';
import { makeTempDir, removeDir } from './temp-dir.js';

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
let dir: string;
before(async () => {
  dir = await makeTempDir('sha256-test-');
});
after(async () => {
  await removeDir(dir);
});

test('a buffer, a stream and a file of the same bytes hash alike', async () => {
  const data = Buffer.alloc(300_000, 'slipway');
  const expected = createHash('sha256').update(data).digest('hex');
  const path = join(dir, 'data.bin');
  await writeFile(path, data);
  assert.equal(sha256Buffer(data), expected);
  assert.deepEqual(await sha256Stream(Readable.from([data.subarray(0, 7), data.subarray(7)])), {
    sha256: expected,
    size: data.length,
  });
  assert.deepEqual(await sha256File(path), { sha256: expected, size: data.length });
});

test('the empty input has the well-known digest', async () => {
  assert.equal(sha256Buffer(Buffer.alloc(0)), EMPTY);
  assert.deepEqual(await sha256Stream(Readable.from([])), { sha256: EMPTY, size: 0 });
});

test('a missing file rejects', async () => {
  await assert.rejects(sha256File(join(dir, 'missing')), { code: 'ENOENT' });
});

test('the tap passes bytes through unchanged and reports their digest', async () => {
  const tap = new Sha256Tap();
  const seen: Buffer[] = [];
  await pipeline(
    Readable.from([Buffer.from('ab'), Buffer.from('c')]),
    tap,
    new Writable({
      write(chunk: Buffer, _e, cb) {
        seen.push(chunk);
        cb();
      },
    }),
  );
  assert.equal(Buffer.concat(seen).toString(), 'abc');
  assert.deepEqual(tap.digest(), { sha256: sha256Buffer(Buffer.from('abc')), size: 3 });
  assert.throws(() => new Sha256Tap().digest());
});

test('only lowercase 64-digit hex is a sha256', () => {
  assert.equal(isSha256Hex(EMPTY), true);
  for (const bad of [EMPTY.toUpperCase(), EMPTY.slice(1), `${EMPTY}0`, '../etc/passwd', '']) {
    assert.equal(isSha256Hex(bad), false, bad);
  }
});
