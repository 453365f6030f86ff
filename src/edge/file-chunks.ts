import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { SlipwayError } from '../core/errors.js';

/** Read size: large enough that a release costs few syscalls, small enough to never matter. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a file front to back through one reused buffer, hashing every byte as it comes off
 * the disk, so a release of any size is checked against its name in a single pass while no
 * more than {@link CHUNK_BYTES} (plus what the caller chooses to keep) is held.
 */
export class FileChunks {
  readonly #handle: FileHandle;
  readonly #hash = createHash('sha256');
  readonly #buf = Buffer.allocUnsafe(CHUNK_BYTES);
  /** File offset of `#buf[0]`. */
  #base = 0;
  #start = 0;
  #end = 0;
  #eof = false;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** File offset of the next byte {@link take} or {@link consume} returns. */
  get position(): number {
    return this.#base + this.#start;
  }

  /** The next `n` bytes, copied into a Buffer of their own. */
  async take(n: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    await this.consume(n, (chunk) => {
      chunk.copy(out, filled);
      filled += chunk.length;
    });
    return out;
  }

  /** Hands the next `n` bytes to `sink` in pieces (views into the shared buffer: copy to keep). */
  async consume(n: number, sink: (chunk: Buffer) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#start === this.#end && (await this.#refill()) === 0) {
        throw new SlipwayError('invalid_archive', 'release tar: truncated (no end-of-archive marker)');
      }
      const k = Math.min(left, this.#end - this.#start);
      sink(this.#buf.subarray(this.#start, this.#start + k));
      this.#start += k;
      left -= k;
    }
  }

  /** Skips `n` bytes (still hashed). */
  skip(n: number): Promise<void> {
    return this.consume(n, () => {});
  }

  /** Reads to the end of the file and returns the sha256 (hex) of all of it. */
  async digest(): Promise<string> {
    while (!this.#eof) {
      this.#start = this.#end;
      await this.#refill();
    }
    return this.#hash.digest('hex');
  }

  async #refill(): Promise<number> {
    if (this.#eof) return 0;
    this.#base += this.#end;
    this.#start = 0;
    this.#end = 0;
    const { bytesRead } = await this.#handle.read(this.#buf, 0, CHUNK_BYTES, this.#base);
    if (bytesRead === 0) {
      this.#eof = true;
      return 0;
    }
    this.#hash.update(this.#buf.subarray(0, bytesRead));
    this.#end = bytesRead;
    return bytesRead;
  }
}
