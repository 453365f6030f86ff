import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { rawTar, type RawEntry } from '../../../test/support/archive/raw-tar-fixture.js';
import { readTar, type TarReadEntry } from './tar-reader.js';
import type { TreeEntry } from './tree-checker.js';
import { TreeWriter } from './tree-writer.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('tree-writer-test-');
});
after(async () => {
  await removeDir(work);
});

/** Feeds a hand-made tar to a writer (as if every entry had passed the checker) and waits for it. */
async function writeAll(writer: TreeWriter, entries: RawEntry[]): Promise<void> {
  const asChecked = (entry: TarReadEntry): TreeEntry => ({
    raw: entry.path, path: entry.path.replace(/\/$/, ''), size: entry.size, linkpath: entry.linkpath,
    kind: entry.type === 'Directory' ? 'dir' : entry.type === 'SymbolicLink' ? 'symlink' : 'file',
  });
  await readTar({ input: Readable.from([rawTar(entries)]), gzip: false, onEntry: (entry) => writer.add(entry, asChecked(entry)) });
  await writer.finish();
}

const files = (prefix: string, count: number): RawEntry[] => Array.from({ length: count }, (_, i) => ({ name: `${prefix}/f${i}`, body: `${prefix} ${i}` }));

test('files small and large, folders and links land as the entries say, each folder made once', async () => {
  const root = join(work, `ok-${counter++}`);
  await mkdir(root);
  const writer = await TreeWriter.create(root, { bufferedFileBytes: 100, maxParallel: 4, maxBufferedBytes: 300 });
  const large = Buffer.alloc(5000, 'L');
  // 'a/b' is made for its files first and then named again by its own entry: no EEXIST.
  await writeAll(writer, [...files('a/b', 30), { name: 'a/big', body: large }, { name: 'a/b/', type: '5' }, { name: 'a/l', type: '2', linkname: 'b' }, ...files('c', 5), { name: 'c/empty', body: '' }]);
  assert.deepEqual((await readdir(root)).sort(), ['a', 'c']);
  assert.equal(await readFile(join(root, 'a/b/f29'), 'utf8'), 'a/b 29');
  assert.ok((await readFile(join(root, 'a/big'))).equals(large));
  assert.equal((await readdir(join(root, 'a/b'))).length, 30);
  assert.equal(await readFile(join(root, 'c/empty'), 'utf8'), '');
});

test('a failed write fails the whole write, and settle waits for the writes still running', async () => {
  const root = join(work, `fail-${counter++}`);
  await mkdir(root);
  const writer = await TreeWriter.create(root);
  // Something outside the archive in the way: the checker cannot see it, the disk refuses.
  await writeFile(join(root, 'x'), 'in the way');
  const err = await writeAll(writer, [...files('a', 20), { name: 'x/y', body: 'z' }, ...files('b', 40)]).catch((e: unknown) => e);
  await writer.settle();
  assert.equal((err as NodeJS.ErrnoException).code, 'EEXIST', String(err));
  await assert.rejects(writer.finish(), (e) => e === err, 'the same failure, every time it is asked');
});
