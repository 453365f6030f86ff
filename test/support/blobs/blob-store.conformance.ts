import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isSlipwayError } from '../../../src/core/errors.js';
import { sha256Buffer } from '../../../src/util/sha256.js';
import { makeTempDir, removeDir } from '../../../src/util/temp-dir.js';
import type { BlobStore } from '../../../src/blobs/blob-store.js';

/** What a conformance run needs from an implementation: a fresh store and how to dispose of it. */
export interface ConformanceStore {
  store: BlobStore;
  cleanup: () => Promise<void>;
  /** Makes a stored blob look last written `ageMs` ago, as if stored long before the test. */
  ageBlob: (sha256: string, ageMs: number) => Promise<void>;
}

const HOUR = 60 * 60 * 1000;

async function listed(store: BlobStore): Promise<Map<string, { size: number; writtenAtMs: number }>> {
  const all = new Map<string, { size: number; writtenAtMs: number }>();
  for await (const entry of store.list()) all.set(entry.sha256, { size: entry.size, writtenAtMs: entry.writtenAtMs });
  return all;
}

const MISSING = 'f'.repeat(64);

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Registers the behaviour every {@link BlobStore} must show, as node:test tests under a
 * `describe(name)`. Each implementation's test file calls it with a factory for a fresh store.
 */
export function runBlobStoreConformance(name: string, makeStore: () => Promise<ConformanceStore>): void {
  describe(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;
    let ageBlob: ConformanceStore['ageBlob'];
    let scratch: string;
    before(async () => {
      ({ store, cleanup, ageBlob } = await makeStore());
      scratch = await makeTempDir('blob-conformance-');
    });
    after(async () => {
      await cleanup();
      await removeDir(scratch);
    });

    test('put returns the sha256 and size; read gives the bytes back', async () => {
      const data = Buffer.from('hello, blob');
      const info = await store.put(data);
      assert.deepEqual(info, { sha256: sha256Buffer(data), size: data.length });
      assert.deepEqual(await store.read(info.sha256), data);
      assert.equal(await store.has(info.sha256), true);
      assert.deepEqual(await store.stat(info.sha256), info);
    });

    test('putting the same content twice is a no-op with the same address', async () => {
      const data = Buffer.from('twice');
      const a = await store.put(data);
      const b = await store.put(Readable.from([data]));
      assert.deepEqual(a, b);
      assert.deepEqual(await store.read(a.sha256), data);
    });

    test('a stream in many chunks is stored whole', async () => {
      const parts = Array.from({ length: 64 }, (_, i) => Buffer.alloc(64 * 1024, i));
      const whole = Buffer.concat(parts);
      const info = await store.put(Readable.from(parts));
      assert.deepEqual(info, { sha256: sha256Buffer(whole), size: whole.length });
      assert.deepEqual(await readAll(await store.openRead(info.sha256)), whole);
    });

    test('the empty blob is a blob', async () => {
      const info = await store.put(Buffer.alloc(0));
      assert.equal(info.size, 0);
      assert.deepEqual(await store.read(info.sha256), Buffer.alloc(0));
    });

    test('a matching expectedSha256 is accepted', async () => {
      const data = Buffer.from('expected');
      assert.equal((await store.put(data, sha256Buffer(data))).sha256, sha256Buffer(data));
    });

    test('a wrong expectedSha256 throws blob_corrupt and stores nothing', async () => {
      const data = Buffer.from('not what you expected');
      const wrong = sha256Buffer(Buffer.from('something else'));
      await assert.rejects(store.put(data, wrong), (e) => isSlipwayError(e, 'blob_corrupt'));
      assert.equal(await store.has(sha256Buffer(data)), false);
      assert.equal(await store.has(wrong), false);
    });

    test('a source stream that fails stores nothing', async () => {
      const good = Buffer.from('partial content that never completes');
      const failing = new Readable({
        read() {
          this.push(good);
          this.destroy(new Error('source broke'));
        },
      });
      await assert.rejects(store.put(failing), /source broke/);
      assert.equal(await store.has(sha256Buffer(good)), false);
    });

    test('putFile stores a file and leaves it in place', async () => {
      const path = join(scratch, 'input.bin');
      const data = Buffer.from('from a file');
      await writeFile(path, data);
      const info = await store.putFile(path);
      assert.equal(info.sha256, sha256Buffer(data));
      assert.deepEqual(await readFile(path), data);
      assert.deepEqual(await store.read(info.sha256), data);
    });

    test('missing blobs: has false, stat null, reads throw blob_not_found', async () => {
      assert.equal(await store.has(MISSING), false);
      assert.equal(await store.stat(MISSING), null);
      const notFound = (e: unknown) => isSlipwayError(e, 'blob_not_found');
      await assert.rejects(store.read(MISSING), notFound);
      await assert.rejects(store.openRead(MISSING), notFound);
      const target = join(scratch, 'never-written');
      await assert.rejects(store.readToFile(MISSING, target), notFound);
      assert.equal(existsSync(target), false);
    });

    test('malformed addresses are refused with invalid_request', async () => {
      const invalid = (e: unknown) => isSlipwayError(e, 'invalid_request');
      for (const bad of ['../../etc/passwd', MISSING.toUpperCase(), 'abc', '']) {
        await assert.rejects(store.has(bad), invalid);
        await assert.rejects(store.stat(bad), invalid);
        await assert.rejects(store.read(bad), invalid);
        await assert.rejects(store.openRead(bad), invalid);
        await assert.rejects(store.put(Buffer.from('x'), bad), invalid);
      }
    });

    test('readToFile writes the verified bytes to the path', async () => {
      const data = Buffer.alloc(200_000, 'r');
      const info = await store.put(data);
      const target = join(scratch, 'out.bin');
      await store.readToFile(info.sha256, target);
      assert.deepEqual(await readFile(target), data);
    });

    test('list names every stored blob with its size and last-written time', async () => {
      const datas = Array.from({ length: 5 }, (_, i) => Buffer.from(`listed ${i}`));
      const infos = await Promise.all(datas.map((d) => store.put(d)));
      const all = await listed(store);
      for (const info of infos) {
        const entry = all.get(info.sha256);
        assert.ok(entry, `${info.sha256} is listed`);
        assert.equal(entry.size, info.size);
        assert.ok(Math.abs(entry.writtenAtMs - Date.now()) < HOUR, 'written just now');
      }
    });

    test('storing existing content again, or touching it, refreshes its last-written time', async () => {
      const data = Buffer.from('stored long ago');
      const { sha256 } = await store.put(data);
      await ageBlob(sha256, 2 * HOUR);
      assert.ok((await listed(store)).get(sha256)!.writtenAtMs < Date.now() - HOUR, 'aged');
      await store.put(Readable.from([data]));
      assert.ok((await listed(store)).get(sha256)!.writtenAtMs > Date.now() - HOUR, 'refreshed by put');
      await ageBlob(sha256, 2 * HOUR);
      const path = join(scratch, 'again.bin');
      await writeFile(path, data);
      await store.putFile(path);
      assert.ok((await listed(store)).get(sha256)!.writtenAtMs > Date.now() - HOUR, 'refreshed by putFile');
      await ageBlob(sha256, 2 * HOUR);
      assert.equal(await store.touch(sha256), true);
      assert.ok((await listed(store)).get(sha256)!.writtenAtMs > Date.now() - HOUR, 'refreshed by touch');
      assert.equal(await store.touch(MISSING), false);
      assert.deepEqual(await store.read(sha256), data);
    });

    test('delete removes a blob; writtenBeforeMs keeps one written since', async () => {
      const old = await store.put(Buffer.from('old and unreferenced'));
      const fresh = await store.put(Buffer.from('fresh'));
      await ageBlob(old.sha256, 2 * HOUR);
      const cutoff = Date.now() - HOUR;
      assert.equal(await store.delete(fresh.sha256, { writtenBeforeMs: cutoff }), false);
      assert.equal(await store.delete(old.sha256, { writtenBeforeMs: cutoff }), true);
      assert.equal(await store.has(old.sha256), false);
      assert.equal(await store.has(fresh.sha256), true);
      assert.deepEqual(await store.read(fresh.sha256), Buffer.from('fresh'));
      assert.equal((await listed(store)).has(old.sha256), false);
      assert.equal(await store.delete(old.sha256), false, 'deleting a missing blob is false');
      await assert.rejects(store.read(old.sha256), (e) => isSlipwayError(e, 'blob_not_found'));
      assert.equal(await store.delete(fresh.sha256), true, 'no condition: deleted');
      // Stored again after a delete: a blob like any other.
      await store.put(Buffer.from('old and unreferenced'));
      assert.deepEqual(await store.read(old.sha256), Buffer.from('old and unreferenced'));
      await assert.rejects(store.delete('../x'), (e) => isSlipwayError(e, 'invalid_request'));
    });

    test('puts of the same content racing with deletes always leave the blob stored once they return', async () => {
      const data = Buffer.from('raced');
      const { sha256 } = await store.put(data);
      for (let round = 0; round < 20; round++) {
        await ageBlob(sha256, 2 * HOUR);
        const cutoff = Date.now() - HOUR;
        await Promise.all([store.put(data), store.delete(sha256, { writtenBeforeMs: cutoff })]);
        // Whichever came first, the put holds: it refreshed the blob before the delete looked,
        // or stored it again after the delete took the old one.
        assert.deepEqual(await store.read(sha256), data, `round ${round}`);
      }
    });

    test('different contents stored concurrently all survive', async () => {
      const datas = Array.from({ length: 16 }, (_, i) => Buffer.from(`concurrent ${i}`));
      const infos = await Promise.all(datas.map((d) => store.put(d)));
      for (const [i, info] of infos.entries()) assert.deepEqual(await store.read(info.sha256), datas[i]);
    });
  });
}
