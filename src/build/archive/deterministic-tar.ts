import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat, unlink, type FileHandle } from 'node:fs/promises';
import { SlipwayError } from '../../core/errors.js';
import type { Digest } from '../../util/sha256.js';
import { normalizeEntryPath } from './entry-path.js';

/** One regular file to put in a tar: its bytes come from `file` (a path on disk) or `data`. */
export interface TarEntry {
  /** POSIX path inside the archive: relative, normalized, no trailing slash. */
  path: string;
  file?: string;
  data?: Buffer;
  /** Default 0644. */
  mode?: 0o644 | 0o755;
}

const BLOCK = 512;
const MAX_USTAR_SIZE = 0o77777777777;
const FLUSH_BYTES = 256 * 1024;
const SMALL_FILE_BYTES = 1024 * 1024;

/**
 * Writes `entries`, in the order given, as a tar that depends on nothing but their paths, modes
 * and bytes: mtime 0, uid/gid 0, empty owner names, no directory entries, no padding to a
 * record size. Paths that do not fit the 100-byte ustar name field, or are not plain ASCII,
 * get a PAX `path` record, and the ustar name then holds a stable stand-in derived from the
 * path. Identical input gives byte-identical output. Returns the sha256 and size of the tar.
 */
export async function writeDeterministicTar(entries: readonly TarEntry[], outPath: string): Promise<Digest> {
  checkEntries(entries);
  const out = new HashingWriter(await open(outPath, 'w', 0o644));
  try {
    for (const entry of entries) {
      const size = entry.data ? entry.data.length : (await stat(entry.file as string)).size;
      if (size > MAX_USTAR_SIZE) {
        throw new SlipwayError('build_output_too_large', `${entry.path} is larger than a release file may be`, {
          details: { path: entry.path, limit: MAX_USTAR_SIZE },
        });
      }
      await out.write(encodeHeaders(entry.path, entry.mode ?? 0o644, size));
      if (entry.data) await out.write(entry.data);
      else await copyExactly(entry.file as string, size, out);
      await out.write(Buffer.alloc(padding(size)));
    }
    await out.write(Buffer.alloc(2 * BLOCK));
    return await out.finish();
  } catch (err) {
    await out.abort();
    await unlink(outPath).catch(() => {});
    throw err;
  }
}

/**
 * The same tar as {@link writeDeterministicTar} writes, built in memory from entries that all
 * carry their `data`: byte for byte what the file would hold, so a snapshot made from an upload
 * held in memory has the `source_sha256` the tree on disk would give.
 */
export function encodeDeterministicTar(entries: readonly TarEntry[]): Buffer {
  checkEntries(entries);
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data = entry.data;
    if (data === undefined) throw new SlipwayError('internal_error', `tar entry ${JSON.stringify(entry.path)} has no data`);
    if (data.length > MAX_USTAR_SIZE) {
      throw new SlipwayError('build_output_too_large', `${entry.path} is larger than a release file may be`, {
        details: { path: entry.path, limit: MAX_USTAR_SIZE },
      });
    }
    parts.push(encodeHeaders(entry.path, entry.mode ?? 0o644, data.length), data);
    const pad = padding(data.length);
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

function checkEntries(entries: readonly TarEntry[]): void {
  const seen = new Set<string>();
  for (const entry of entries) {
    const ok = (entry.file === undefined) !== (entry.data === undefined);
    if (!ok || entry.path === '' || normalizeEntryPath(entry.path) !== entry.path || seen.has(entry.path)) {
      throw new SlipwayError('internal_error', `invalid tar entry ${JSON.stringify(entry.path)}`);
    }
    seen.add(entry.path);
  }
}

async function copyExactly(file: string, size: number, out: HashingWriter): Promise<void> {
  // One readFile is several times cheaper than a stream for the small files sites are made of.
  if (size <= SMALL_FILE_BYTES) {
    const data = await readFile(file);
    if (data.length !== size) throw new SlipwayError('internal_error', `${file} changed while it was being archived`);
    return out.write(data);
  }
  let copied = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: FLUSH_BYTES })) {
    copied += (chunk as Buffer).length;
    if (copied > size) break;
    await out.write(chunk as Buffer);
  }
  // The header already promised `size` bytes: a file that changed would corrupt the archive.
  if (copied !== size) throw new SlipwayError('internal_error', `${file} changed while it was being archived`);
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** The ustar header for a file, preceded by a PAX header when the path needs one. */
export function encodeHeaders(path: string, mode: number, size: number): Buffer {
  const fits = Buffer.byteLength(path) <= 100 && /^[\x20-\x7e]+$/.test(path);
  if (fits) return ustarHeader({ name: path, mode, size, type: '0' });
  const standIn = `long-path-${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
  const body = Buffer.from(paxRecord('path', path));
  return Buffer.concat([
    ustarHeader({ name: `PaxHeaders/${standIn}`, mode: 0o644, size: body.length, type: 'x' }),
    body,
    Buffer.alloc(padding(body.length)),
    ustarHeader({ name: standIn, mode, size, type: '0' }),
  ]);
}

/** A PAX record: `<length> <key>=<value>\n`, where the length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest);
  let length = restBytes + String(restBytes).length;
  if (String(length).length + restBytes !== length) length++;
  return `${length}${rest}`;
}

function ustarHeader(h: { name: string; mode: number; size: number; type: '0' | 'x' }): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(h.name, 0, 100, 'utf8');
  block.write(octal(h.mode, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid
  block.write(octal(0, 8), 116, 'ascii'); // gid
  block.write(octal(h.size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii'); // mtime
  block.write(h.type, 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  block.write(octal(0, 8), 329, 'ascii'); // devmajor
  block.write(octal(0, 8), 337, 'ascii'); // devminor
  // The checksum is computed with its own field read as spaces.
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

/** Batches small writes into large ones and hashes everything written. */
class HashingWriter {
  readonly #handle: FileHandle;
  readonly #hash = createHash('sha256');
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #size = 0;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  async write(data: Buffer): Promise<void> {
    if (data.length === 0) return;
    this.#hash.update(data);
    this.#size += data.length;
    this.#pending.push(data);
    this.#pendingBytes += data.length;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.#flush();
  }

  async finish(): Promise<Digest> {
    await this.#flush();
    await this.#handle.sync();
    await this.#handle.close();
    return { sha256: this.#hash.digest('hex'), size: this.#size };
  }

  async abort(): Promise<void> {
    await this.#handle.close().catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const chunk = this.#pending.length === 1 ? (this.#pending[0] as Buffer) : Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await this.#handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
  }
}
