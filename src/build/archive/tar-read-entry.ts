import { Readable } from 'node:stream';
import type { TarHeaderEntry } from '../../util/tar-entries.js';
import type { ChunkSource } from './chunk-source.js';

/**
 * One entry of an archive read by `readTar`: its header fields, and its body as a stream that
 * the reader fills from the archive as it is read (nothing more of the archive is pulled while
 * the body waits to be read). Entries without a body (folders, links) end at once.
 */
export class TarReadEntry extends Readable {
  /** The whole name as the archive has it (a PAX or GNU long name if one was given). */
  readonly path: string;
  /** node-tar's name for the type flag: `File`, `Directory`, `SymbolicLink`, `Link`, `FIFO`, … */
  readonly type: string;
  /** Bytes of body. */
  readonly size: number;
  /** Permission bits from the header (0644, 0755, …). */
  readonly mode: number;
  readonly mtime: Date | undefined;
  /** The target of a `Link` or `SymbolicLink`. */
  readonly linkpath: string | undefined;
  #wanted: (() => void) | undefined;

  constructor(header: TarHeaderEntry) {
    super();
    this.path = header.path;
    this.type = header.type;
    this.size = header.size;
    this.mode = header.mode;
    this.mtime = header.mtime;
    this.linkpath = header.linkpath;
    // A destroyed entry is read no more: the filler must not wait for it.
    this.once('close', () => this.#wake());
  }

  override _read(): void {
    this.#wake();
  }

  /**
   * Moves the body from `source` into this stream, waiting whenever the reader is behind.
   * Returns false when `stopped()` turned true meanwhile (the read is being abandoned); throws
   * `truncated()` when the archive ends inside the body, and whatever `source` throws.
   */
  async fill(source: ChunkSource, stopped: () => boolean, truncated: () => Error): Promise<boolean> {
    for (let left = this.size; left > 0; ) {
      const piece = await source.piece(left);
      if (piece === null) throw truncated();
      if (stopped()) return false;
      left -= piece.length;
      if (this.destroyed || this.push(piece)) continue;
      await new Promise<void>((resolve) => (this.#wanted = resolve));
      if (stopped()) return false;
    }
    if (!this.destroyed) this.push(null);
    return true;
  }

  #wake(): void {
    const wanted = this.#wanted;
    this.#wanted = undefined;
    wanted?.();
  }
}

/** Reads a whole entry body into memory (callers bound its size first). */
export async function readBody(entry: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
