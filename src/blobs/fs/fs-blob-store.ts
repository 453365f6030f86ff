import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, open, opendir, readdir, readFile, rename, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import type { BlobDeleteOptions, BlobInfo, BlobListEntry, BlobStore } from '../blob-store.js';
import { assertBlobAddress, blobCorrupt, blobNotFound } from '../blob-address.js';
import { isSha256Hex, sha256Buffer, Sha256Tap } from '../../util/sha256.js';

/** Configuration of {@link createFsBlobStore}. */
export interface FsBlobStoreConfig {
  /** The store's directory; created when missing. Must be one filesystem (blobs are hard-linked in). */
  root: string;
  /** Temp files older than this are removed at start-up (default one hour). */
  staleTempMs?: number;
}

const BLOB_MODE = 0o444;

/**
 * The store's own folders are the owner's alone, whatever the umask: in the home they sit behind
 * its 0700, but a shared `SLIPWAY_BLOB_DIR` may be a folder others can list, and the blobs hold
 * every deployment's source.
 */
const DIR_MODE = 0o700;

/**
 * A blob store on the local filesystem: `root/sha256/ab/<hex>`, written to `root/tmp/`, synced,
 * then hard-linked into place. `link()` fails when the name exists, so a blob is never
 * overwritten, even by two writers racing with the same content. A blob's mtime is its
 * last-written time: storing existing content sets it to now.
 */
export async function createFsBlobStore(config: FsBlobStoreConfig): Promise<BlobStore> {
  const store = new FsBlobStore(config.root);
  // Set on every start, so folders an older version made with the umask are closed too.
  for (const dir of ['tmp', 'sha256']) {
    await makeOwnDir(join(config.root, dir));
    await chmod(join(config.root, dir), DIR_MODE);
  }
  await store.removeStaleTemps(config.staleTempMs ?? 60 * 60 * 1000);
  return store;
}

class FsBlobStore implements BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async removeStaleTemps(maxAgeMs: number): Promise<void> {
    const tmp = join(this.#root, 'tmp');
    const cutoff = Date.now() - maxAgeMs;
    for (const name of await readdir(tmp)) {
      const aside = /^gc-([0-9a-f]{64})-/.exec(name);
      if (aside) {
        // A delete that stopped half-way (a crash): the blob may have been stored again just
        // before it was moved aside, so it goes back; the next collection decides again.
        await link(join(tmp, name), this.#path(aside[1]!)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        await unlink(join(tmp, name)).catch(ignoreMissing);
        continue;
      }
      const st = await lstat(join(tmp, name)).catch(() => null);
      if (st && st.mtimeMs < cutoff) await unlink(join(tmp, name)).catch(ignoreMissing);
    }
  }

  async put(source: Buffer | Readable, expectedSha256?: string): Promise<BlobInfo> {
    if (expectedSha256 !== undefined) assertBlobAddress(expectedSha256, 'expectedSha256');
    const tmp = join(this.#root, 'tmp', `${Date.now()}-${randomBytes(8).toString('hex')}`);
    try {
      const tap = new Sha256Tap();
      const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
      await pipeline(input, tap, createWriteStream(tmp, { flags: 'wx', mode: BLOB_MODE, flush: true }));
      const info = tap.digest();
      if (expectedSha256 !== undefined && info.sha256 !== expectedSha256) {
        throw blobCorrupt(expectedSha256, info.sha256);
      }
      const final = this.#path(info.sha256);
      await makeOwnDir(dirname(final));
      for (;;) {
        try {
          await link(tmp, final);
          await syncDir(dirname(final));
          return info;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        // Already stored: same address, same bytes. Keep the existing blob, but as just written,
        // so a collection running now leaves it. Gone between the two calls (collected): link again.
        if (await this.touch(info.sha256)) return info;
      }
    } finally {
      await unlink(tmp).catch(ignoreMissing);
    }
  }

  putFile(path: string): Promise<BlobInfo> {
    return this.put(createReadStream(path));
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.stat(sha256)) !== null;
  }

  async touch(sha256: string): Promise<boolean> {
    assertBlobAddress(sha256);
    const now = new Date();
    try {
      await utimes(this.#path(sha256), now, now);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  async *list(): AsyncIterable<BlobListEntry> {
    const top = join(this.#root, 'sha256');
    for (const prefix of await readdir(top)) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      const dir = await opendir(join(top, prefix)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
        throw err;
      });
      if (dir === null) continue;
      for await (const entry of dir) {
        if (!isSha256Hex(entry.name) || !entry.name.startsWith(prefix)) continue;
        const st = await lstat(join(top, prefix, entry.name)).catch(() => null);
        if (st?.isFile()) yield { sha256: entry.name, size: st.size, writtenAtMs: st.mtimeMs };
      }
    }
  }

  /**
   * Moves the blob aside first, then decides on the moved file: a put racing with this either
   * touched the blob before the move (the time says so, and it is put back) or finds it gone
   * and links its own copy in. Checking the time before an unlink in place would lose a blob
   * touched between the check and the unlink.
   */
  async delete(sha256: string, options: BlobDeleteOptions = {}): Promise<boolean> {
    assertBlobAddress(sha256);
    const final = this.#path(sha256);
    const aside = join(this.#root, 'tmp', `gc-${sha256}-${randomBytes(6).toString('hex')}`);
    try {
      await rename(final, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const st = await lstat(aside);
    if (options.writtenBeforeMs !== undefined && st.mtimeMs >= options.writtenBeforeMs) {
      await putBack(aside, final);
      await unlink(aside);
      return false;
    }
    // Not synced: a delete a crash undoes only leaves a blob for the next collection.
    await unlink(aside);
    return true;
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    assertBlobAddress(sha256);
    try {
      const st = await lstat(this.#path(sha256));
      return { sha256, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async read(sha256: string): Promise<Buffer> {
    assertBlobAddress(sha256);
    let data: Buffer;
    try {
      data = await readFile(this.#path(sha256));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw blobNotFound(sha256);
      throw err;
    }
    const actual = sha256Buffer(data);
    if (actual !== sha256) throw blobCorrupt(sha256, actual);
    return data;
  }

  async openRead(sha256: string): Promise<Readable> {
    assertBlobAddress(sha256);
    let handle;
    try {
      handle = await open(this.#path(sha256), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw blobNotFound(sha256);
      throw err;
    }
    const verifier = new VerifyingStream(sha256);
    // pipeline() destroys both streams on error or early destroy, which closes the descriptor.
    pipeline(handle.createReadStream(), verifier).catch(() => {});
    return verifier;
  }

  async readToFile(sha256: string, path: string): Promise<void> {
    const source = await this.openRead(sha256);
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await pipeline(source, createWriteStream(tmp, { flags: 'wx', flush: true }));
      await rename(tmp, path);
    } catch (err) {
      source.destroy();
      await unlink(tmp).catch(ignoreMissing);
      throw err;
    }
  }

  #path(sha256: string): string {
    return join(this.#root, 'sha256', sha256.slice(0, 2), sha256);
  }
}

/** Passes bytes through and fails at the end when they do not hash to the expected address. */
class VerifyingStream extends Transform {
  readonly #expected: string;
  readonly #hash = createHash('sha256');

  constructor(expected: string) {
    super();
    this.#expected = expected;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.#hash.digest('hex');
    callback(actual === this.#expected ? null : blobCorrupt(this.#expected, actual));
  }
}

/** Creates `path` (and missing parents) as {@link DIR_MODE}; mkdir's mode is masked by the umask, chmod's is not. */
async function makeOwnDir(path: string): Promise<void> {
  const first = await mkdir(path, { recursive: true, mode: DIR_MODE });
  if (first === undefined) return;
  for (let dir = path; ; dir = dirname(dir)) {
    await chmod(dir, DIR_MODE);
    if (dir === first || dirname(dir) === dir) return;
  }
}

/** Makes a new name durable: a rename or link is only safe after its directory is synced. */
async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

/** How many times {@link putBack} tries before it gives up. */
const PUT_BACK_ATTEMPTS = 3;

/**
 * Links `aside` back to `final`, trying again after a failure (a full inode table or a
 * momentary I/O error must not leave a blob a put just refreshed in `tmp/` until the next
 * start). `EEXIST` is success: a put linked a fresh copy in meanwhile, same bytes. After the
 * last failure it throws and leaves `aside` in place: `removeStaleTemps` puts it back at the next start.
 */
async function putBack(aside: string, final: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await link(aside, final);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      if (attempt >= PUT_BACK_ATTEMPTS) throw err;
    }
  }
}
