import type { Readable } from 'node:stream';

/** What a stored blob is: its content address and size. */
export interface BlobInfo {
  /** Lowercase hex sha256 of the content; the blob's only name. */
  sha256: string;
  size: number;
}

/**
 * Content-addressed, immutable storage for snapshots and releases. A blob is named by the
 * sha256 of its bytes, written completely before it becomes visible (temp file + rename or an
 * equivalent), never overwritten, and verified on read. Implementations: `fs/` (embedded);
 * S3-compatible storage comes later behind the same interface.
 */
export interface BlobStore {
  /**
   * Stores the bytes and returns their address. Storing content that already exists is a no-op
   * that returns the same address. When `expectedSha256` is given and the content differs, the
   * write is discarded and `blob_corrupt` is thrown.
   */
  put(source: Buffer | Readable, expectedSha256?: string): Promise<BlobInfo>;
  /** Stores a local file's bytes (moved or copied; the caller's file is left as it was). */
  putFile(path: string): Promise<BlobInfo>;
  /** True when the blob exists. */
  has(sha256: string): Promise<boolean>;
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
}
