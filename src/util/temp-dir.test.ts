import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir, withTempDir } from './temp-dir.js';

test('makeTempDir creates a private directory and removeDir removes the whole tree', async () => {
  const dir = await makeTempDir('temp-dir-test-');
  try {
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    await mkdir(join(dir, 'a', 'b'), { recursive: true });
    await writeFile(join(dir, 'a', 'b', 'f'), 'x');
  } finally {
    await removeDir(dir);
  }
  assert.equal(existsSync(dir), false);
  await removeDir(dir); // already gone: no error
});

test('withTempDir removes the directory even when the callback throws', async () => {
  let seen = '';
  await assert.rejects(
    withTempDir(async (dir) => {
      seen = dir;
      await writeFile(join(dir, 'f'), 'x');
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.ok(seen);
  assert.equal(existsSync(seen), false);
});
