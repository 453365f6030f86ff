import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { rawTar } from '../../test/support/archive/raw-tar-fixture.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { addSources, localArchiveAdds } from './dockerfile-add.js';

test('the local sources of every ADD: flags, the JSON form and continuations read; URLs and variables left out', () => {
  const dockerfile = [
    'FROM busybox',
    'ADD --chown=1:1 a.tgz b.txt /dest/',
    'add ["with space.tar", "/x/"]',
    'ADD https://example.com/x.tar.gz /y/',
    'ADD $ARCHIVE /z/',
    'ADD one.tar \\',
    '    two.tar /w/',
    'COPY c.tar /c/',
  ].join('\n');
  assert.deepEqual(addSources(dockerfile), ['a.tgz', 'b.txt', 'with space.tar', 'one.tar', 'two.tar']);
});

test('an ADDed file counts as an archive by its bytes (gzip, tar), not its name; globs and folders are followed', async () => {
  const dir = await makeTempDir('dockerfile-add-test-');
  try {
    await writeFile(join(dir, 'app.bin'), gzipSync('x'));
    await writeFile(join(dir, 'plain.tar'), 'not an archive at all');
    await mkdir(join(dir, 'parts'));
    await writeFile(join(dir, 'parts', 'p1.tar'), rawTar([{ name: 'a', body: 'a' }]));
    await writeFile(join(dir, 'parts', 'readme.md'), '# hi');
    await mkdir(join(dir, 'folder.tar'));
    const dockerfile = 'FROM busybox\nADD app.bin plain.tar /a/\nADD parts/*.tar parts/*.md /b/\nADD folder.tar /c/\nADD ../outside.tar /d/\n';
    assert.deepEqual(await localArchiveAdds(dockerfile, dir), ['app.bin', 'parts/*.tar']);
  } finally {
    await removeDir(dir);
  }
});
