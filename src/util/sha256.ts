import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import type { Readable } from 'node:stream';

/** A content digest: lowercase hex sha256 and the number of bytes hashed. */
export interface Digest {
  sha256: string;
  size: number;
}

/** True when `value` is a lowercase hex sha256 (64 characters). */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/** The lowercase hex sha256 of a buffer. */
export function sha256Buffer(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hashes everything a stream yields; rejects if the stream errors. */
export async function sha256Stream(source: Readable): Promise<Digest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Hashes a file on disk without reading it into memory. */
export function sha256File(path: string): Promise<Digest> {
  return sha256Stream(createReadStream(path));
}

/**
 * A pass-through stream that hashes what flows through it, so a copy and its digest take one
 * read. `digest()` is valid once the stream has finished.
 */
export class Sha256Tap extends Transform {
  readonly #hash = createHash('sha256');
  #size = 0;
  #result: Digest | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#result = { sha256: this.#hash.digest('hex'), size: this.#size };
    callback();
  }

  /** The digest of everything that passed; throws if the stream has not finished. */
  digest(): Digest {
    if (!this.#result) throw new Error('Sha256Tap.digest() called before the stream finished');
    return this.#result;
  }
}
