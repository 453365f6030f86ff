import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createFsBlobStore } from '../blobs/fs/fs-blob-store.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { IN_MEMORY_SOURCE_BYTES } from '../core/limits.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { fetchSnapshot } from './build-worker.js';

let work: string;
let blobs: BlobStore;
let counter = 0;
before(async () => {
  work = await makeTempDir('build-worker-test-');
  blobs = await createFsBlobStore({ root: join(work, 'blobs') });
});
after(async () => {
  await removeDir(work);
});

const exists = (path: string) => stat(path).then(() => true, () => false);

test('a snapshot within the in-memory budget is lent in memory, with no file written', async () => {
  const { sha256 } = await blobs.put(Buffer.alloc(4096, 'a'));
  const path = join(work, `snap-${counter++}.tar`);
  const lent = await fetchSnapshot(blobs, sha256, { path });
  assert.equal(lent?.bytes?.length, 4096);
  assert.equal(await exists(path), false);
});

test('a snapshot one byte over the in-memory budget is streamed to disk, never read into memory', async () => {
  const bytes = Buffer.alloc(IN_MEMORY_SOURCE_BYTES + 1, 'b');
  const { sha256 } = await blobs.put(bytes);
  const path = join(work, `snap-${counter++}.tar`);
  // Not assert.equal: a failure would print 32 MiB of bytes.
  assert.ok((await fetchSnapshot(blobs, sha256, { path })) === undefined, 'the snapshot was read into memory');
  assert.ok((await readFile(path)).equals(bytes));
});

test('the threshold is the one given', async () => {
  const { sha256 } = await blobs.put(Buffer.alloc(4096, 'c'));
  const path = join(work, `snap-${counter++}.tar`);
  assert.equal(await fetchSnapshot(blobs, sha256, { path, maxInMemoryBytes: 4095 }), undefined);
  assert.equal((await stat(path)).size, 4096);
});
