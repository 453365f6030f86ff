import type { Readable } from 'node:stream';

/** What a stored blob is: its content address and size. */
export interface BlobInfo {
  /** Lowercase hex sha256 of the content; the blob's only name. */
  sha256: string;
  size: number;
}

/** A stored blob as {@link BlobStore.list} names it. */
export interface BlobListEntry extends BlobInfo {
  /**
   * When the blob was last written, or stored again (ms since the epoch): a put of content that
   * already exists refreshes it, so garbage collection never takes a blob a publish just stored.
   */
  writtenAtMs: number;
}

/** Options for {@link BlobStore.delete}. */
export interface BlobDeleteOptions {
  /**
   * Deletes only when the blob was last written before this time (ms since the epoch), checked
   * atomically with the delete: a blob stored again meanwhile stays.
   */
  writtenBeforeMs?: number;
}

/**
 * Content-addressed, immutable storage for snapshots and releases. A blob is named by the
 * sha256 of its bytes, written completely before it becomes visible (temp file + rename or an
 * equivalent), never overwritten, and verified on read. Implementations: `fs/` (embedded);
 * S3-compatible storage comes later behind the same interface.
 */
export interface BlobStore {
  /**
   * Stores the bytes and returns their address. Storing content that already exists keeps the
   * stored blob, refreshes its last-written time and returns the same address. When `expectedSha256` is given and the content differs, the
   * write is discarded and `blob_corrupt` is thrown.
   */
  put(source: Buffer | Readable, expectedSha256?: string): Promise<BlobInfo>;
  /** Stores a local file's bytes (moved or copied; the caller's file is left as it was). */
  putFile(path: string): Promise<BlobInfo>;
  /**
   * True when the blob exists. A writer that skips a `put` because the blob exists must
   * {@link touch} it instead, or garbage collection may take it before it is referenced.
   */
  has(sha256: string): Promise<boolean>;
  /**
   * Refreshes the blob's last-written time, as storing it again would; false when it does not
   * exist (then store it).
   */
  touch(sha256: string): Promise<boolean>;
  /** Size and address, or null when the blob does not exist. */
  stat(sha256: string): Promise<BlobInfo | null>;
  /** The whole blob, verified against its address; throws `blob_not_found` or `blob_corrupt`. */
  read(sha256: string): Promise<Buffer>;
  /**
   * A stream of the blob; it errors with `blob_corrupt` at the end if the bytes do not match
   * the address, so consumers must not commit what they read before the stream ends cleanly.
   */
  openRead(sha256: string): Promise<Readable>;
  /** Copies the blob to a local file path, verified (written to a temp name, then renamed). */
  readToFile(sha256: string, path: string): Promise<void>;
  /**
   * Every stored blob with its size and last-written time, one at a time (never the whole
   * listing in memory), in no particular order. Blobs stored or deleted while it runs may or
   * may not appear.
   */
  list(): AsyncIterable<BlobListEntry>;
  /**
   * Deletes a blob (garbage collection only: blobs are otherwise never deleted); true when it
   * was. Safe against a `put` of the same content at the same moment: afterwards either the
   * blob exists (that put's, or the old one kept) or the put has not returned yet. While it
   * decides, a read may briefly miss a blob that is being stored again (the filesystem driver
   * moves it aside, then links it back); a reader that must not miss it re-stores it first.
   */
  delete(sha256: string, options?: BlobDeleteOptions): Promise<boolean>;
}
