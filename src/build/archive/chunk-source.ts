import { SlipwayError } from '../../core/errors.js';

const EMPTY: Buffer = Buffer.alloc(0);

/**
 * Pulls a byte stream chunk by chunk and hands it out in the pieces a tar walk asks for: exact
 * runs (a header block, a metadata body) and body pieces of up to a given size, zero-copy where
 * a chunk holds them. Nothing is pulled before it is asked for, which is the backpressure: a
 * reader that waits on its consumer stops pulling. Past `maxBytes` pulled, the next pull throws
 * `archive_too_large`.
 */
export class ChunkSource {
  readonly #chunks: AsyncIterator<Buffer>;
  readonly #maxBytes: number | undefined;
  #chunk: Buffer = EMPTY;
  #at = 0;
  /** Bytes pulled from the stream so far. */
  pulled = 0;

  constructor(stream: AsyncIterable<Buffer>, maxBytes?: number) {
    this.#chunks = stream[Symbol.asyncIterator]();
    this.#maxBytes = maxBytes;
  }

  /** Exactly `length` bytes, or null when the stream ends first. */
  async take(length: number): Promise<Buffer | null> {
    if (this.#chunk.length - this.#at >= length) return this.#slice(length);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < length) {
      const piece = await this.piece(length - got);
      if (piece === null) return null;
      parts.push(piece);
      got += piece.length;
    }
    return Buffer.concat(parts, length);
  }

  /** The next 1 to `most` bytes, or null at the end of the stream. */
  async piece(most: number): Promise<Buffer | null> {
    if (this.#at >= this.#chunk.length && !(await this.#pull())) return null;
    return this.#slice(Math.min(most, this.#chunk.length - this.#at));
  }

  /** Passes over `length` bytes; false when the stream ends first. */
  async skip(length: number): Promise<boolean> {
    for (let left = length; left > 0; ) {
      const piece = await this.piece(left);
      if (piece === null) return false;
      left -= piece.length;
    }
    return true;
  }

  /** Hands every byte still to come to `visit`, piece by piece. */
  async rest(visit: (piece: Buffer) => void): Promise<void> {
    for (;;) {
      const piece = await this.piece(Number.MAX_SAFE_INTEGER);
      if (piece === null) return;
      visit(piece);
    }
  }

  #slice(length: number): Buffer {
    const out = this.#chunk.subarray(this.#at, this.#at + length);
    this.#at += length;
    return out;
  }

  async #pull(): Promise<boolean> {
    for (;;) {
      const next = await this.#chunks.next();
      if (next.done === true) return false;
      this.pulled += next.value.length;
      if (this.#maxBytes !== undefined && this.pulled > this.#maxBytes) {
        throw new SlipwayError('archive_too_large', `the archive unpacks to more than ${this.#maxBytes} bytes of tar`, {
          details: { limit: this.#maxBytes },
        });
      }
      if (next.value.length === 0) continue;
      this.#chunk = next.value;
      this.#at = 0;
      return true;
    }
  }
}
