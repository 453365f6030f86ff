import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSlipwayError } from '../../core/errors.js';
import { sha256Buffer } from '../../util/sha256.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { runBlobStoreConformance } from '../../../test/support/blobs/blob-store.conformance.js';
import { createFsBlobStore } from './fs-blob-store.js';

runBlobStoreConformance('fs', async () => {
  const root = await makeTempDir('fs-blob-conformance-');
  return {
    store: await createFsBlobStore({ root }),
    cleanup: () => removeDir(root),
    ageBlob: async (sha256, ageMs) => {
      const then = new Date(Date.now() - ageMs);
      await utimes(join(root, 'sha256', sha256.slice(0, 2), sha256), then, then);
    },
  };
});

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('fs blob store', () => {
  let root: string;
  before(async () => {
    root = await makeTempDir('fs-blob-test-');
  });
  after(async () => {
    await removeDir(root);
  });

  test('lays blobs out as sha256/ab/<hex> and leaves no temp files', async () => {
    const store = await createFsBlobStore({ root });
    const data = Buffer.from('layout');
    const { sha256 } = await store.put(data);
    assert.deepEqual(await readFile(join(root, 'sha256', sha256.slice(0, 2), sha256)), data);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  test('a blob corrupted on disk is detected by read, openRead and readToFile', async () => {
    const store = await createFsBlobStore({ root });
    const data = Buffer.alloc(100_000, 'good');
    const { sha256 } = await store.put(data);
    const file = join(root, 'sha256', sha256.slice(0, 2), sha256);
    await chmod(file, 0o644);
    const bad = Buffer.from(data);
    bad[50_000] = 0;
    await writeFile(file, bad);
    const corrupt = (e: unknown) => isSlipwayError(e, 'blob_corrupt');
    await assert.rejects(store.read(sha256), corrupt);
    await assert.rejects(readAll(await store.openRead(sha256)), corrupt);
    const target = join(root, 'restored.bin');
    await assert.rejects(store.readToFile(sha256, target), corrupt);
    assert.equal(existsSync(target), false);
    assert.deepEqual(
      (await readdir(root)).filter((n) => n.includes('restored')),
      [],
    );
  });

  test('concurrent puts of the same content store it once, intact', async () => {
    const store = await createFsBlobStore({ root });
    const data = Buffer.alloc(1024 * 1024, 'same');
    const infos = await Promise.all(Array.from({ length: 12 }, () => store.put(data)));
    const sha256 = sha256Buffer(data);
    for (const info of infos) assert.deepEqual(info, { sha256, size: data.length });
    assert.deepEqual(await readdir(join(root, 'sha256', sha256.slice(0, 2))), [sha256]);
    assert.deepEqual(await store.read(sha256), data);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  test('an existing blob is never overwritten, only its time refreshed', async () => {
    const store = await createFsBlobStore({ root });
    const data = Buffer.from('keep me');
    const { sha256 } = await store.put(data);
    const file = join(root, 'sha256', sha256.slice(0, 2), sha256);
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(file, twoHoursAgo, twoHoursAgo);
    const first = await stat(file);
    await store.put(data);
    const second = await stat(file);
    assert.equal(second.ino, first.ino);
    assert.ok(second.mtimeMs > first.mtimeMs + 60 * 60 * 1000);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });

  test('a delete a crash cut short is undone at the next start', async () => {
    const store = await createFsBlobStore({ root });
    const data = Buffer.from('moved aside, then the server died');
    const { sha256 } = await store.put(data);
    const file = join(root, 'sha256', sha256.slice(0, 2), sha256);
    await rename(file, join(root, 'tmp', `gc-${sha256}-abcdef`));
    const again = await createFsBlobStore({ root });
    assert.deepEqual(await again.read(sha256), data);
    assert.deepEqual((await readdir(join(root, 'tmp'))).filter((n) => n.startsWith('gc-')), []);
  });

  test('stale temp files are removed at creation, fresh ones kept', async () => {
    const tmp = join(root, 'tmp');
    await createFsBlobStore({ root });
    await writeFile(join(tmp, 'stale'), 'x');
    await writeFile(join(tmp, 'fresh'), 'y');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(tmp, 'stale'), twoHoursAgo, twoHoursAgo);
    await createFsBlobStore({ root });
    assert.deepEqual(await readdir(tmp), ['fresh']);
  });

  test("its folders are the owner's alone (0700) whatever the umask, blobs 0444 inside, old 0755 folders closed at start", async () => {
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    for (const umask of [0o022, 0o277]) {
      const base = await makeTempDir('fs-blob-mode-');
      const previous = process.umask(umask);
      try {
        // A shared SLIPWAY_BLOB_DIR: the root is the operator's, made before the store.
        const shared = join(base, 'shared');
        await mkdir(shared, { mode: 0o755 });
        await chmod(shared, 0o755);
        const store = await createFsBlobStore({ root: shared });
        const { sha256 } = await store.put(Buffer.from(`mode ${umask}`));
        for (const dir of ['tmp', 'sha256', `sha256/${sha256.slice(0, 2)}`]) {
          assert.equal(await mode(join(shared, dir)), 0o700, `${dir} under umask ${umask.toString(8)}`);
        }
        assert.equal(await mode(shared), 0o755, "the operator's folder is left as it is");
        if (umask === 0o022) assert.equal(await mode(join(shared, 'sha256', sha256.slice(0, 2), sha256)), 0o444);
        // A root the store makes itself is closed too.
        await createFsBlobStore({ root: join(base, 'new', 'blobs') });
        assert.equal(await mode(join(base, 'new', 'blobs')), 0o700);

        // A store an older version made with the umask.
        const old = join(base, 'old');
        process.umask(0o022);
        await mkdir(join(old, 'sha256'), { recursive: true });
        await mkdir(join(old, 'tmp'));
        process.umask(umask);
        await createFsBlobStore({ root: old });
        assert.deepEqual([await mode(join(old, 'tmp')), await mode(join(old, 'sha256'))], [0o700, 0o700]);
      } finally {
        process.umask(previous);
        await removeDir(base);
      }
    }
  });
});
