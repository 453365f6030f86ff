/**
 * Keeps only the last `maxBytes` bytes of everything appended, so a chatty process's output can
 * be quoted in an error without holding all of it in memory.
 */
export class TailBuffer {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #length = 0;
  #dropped = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Appends bytes, discarding the oldest beyond the limit. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    while (this.#length > this.#maxBytes && this.#chunks.length > 0) {
      const first = this.#chunks[0] as Buffer;
      const excess = this.#length - this.#maxBytes;
      this.#dropped = true;
      if (first.length <= excess) {
        this.#chunks.shift();
        this.#length -= first.length;
      } else {
        this.#chunks[0] = first.subarray(excess);
        this.#length -= excess;
      }
    }
  }

  /** True when older bytes were discarded. */
  get truncated(): boolean {
    return this.#dropped;
  }

  /**
   * The kept bytes as UTF-8. A multi-byte character cut at the start is dropped rather than
   * shown as a replacement character.
   */
  toString(): string {
    const text = Buffer.concat(this.#chunks).toString('utf8');
    return this.#dropped ? text.replace(/^\uFFFD+/, '') : text;
  }
}
