import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { SlipwayError } from '../core/errors.js';
import { IN_MEMORY_SOURCE_BYTES } from '../core/limits.js';

/** A request body being read: its bytes flow through `stream`, hashed and counted on the way. */
export interface MeteredBody {
  /** The body's bytes, for one reader. Fails with `payload_too_large` past the limit. */
  stream: Readable;
  /** The sha256 and size of the body so far; `complete` once all of it was read. */
  digest(): { sha256: string; size: number; complete: boolean };
  /**
   * Stops passing bytes on: the rest of the body is read and discarded (up to a bounded
   * allowance, then the connection is cut), so a client still sending sees the answer instead
   * of a reset connection. Call it when the reader is done, whatever the outcome.
   */
  release(): void;
}

/**
 * Most bytes of uploaded files one server holds in memory at once, across all uploads: four
 * uploads at their share ({@link IN_MEMORY_SOURCE_BYTES}) each. Each such upload is frozen
 * into its snapshot in memory too, which adds about its own size for the time of the publish.
 */
export const UPLOADS_MEMORY_BYTES = 128 * 1024 * 1024;

/** One upload's share of the server's {@link UploadMemoryPool}. */
export interface UploadMemoryGrant {
  /** How many bytes of files the upload may keep in memory (`SpillingTreeWriter`). */
  bytes: number;
  /** Gives the share back; once is enough, again does nothing. */
  release(): void;
}

/**
 * The memory a server's archive uploads share: an upload keeps its files in memory only with
 * a share of it, so concurrent uploads hold at most the pool's total, not a share each.
 */
export interface UploadMemoryPool {
  /**
   * Takes one upload's share, or `undefined` when the pool cannot spare it: that upload is
   * unpacked to disk from its first byte, as one over its share is (same snapshot either way).
   */
  reserve(): UploadMemoryGrant | undefined;
  /** Bytes taken now. */
  reserved(): number;
}

/** A pool of `totalBytes` (default {@link UPLOADS_MEMORY_BYTES}) in shares of `shareBytes`. */
export function createUploadMemoryPool(o: { totalBytes?: number; shareBytes?: number } = {}): UploadMemoryPool {
  const total = o.totalBytes ?? UPLOADS_MEMORY_BYTES;
  const share = o.shareBytes ?? IN_MEMORY_SOURCE_BYTES;
  let taken = 0;
  return {
    reserve: () => {
      if (taken + share > total) return undefined;
      taken += share;
      let held = true;
      return {
        bytes: share,
        release: () => {
          if (!held) return;
          held = false;
          taken -= share;
        },
      };
    },
    reserved: () => taken,
  };
}

/** How much of a refused body is read and discarded so the client can see the answer. */
const DRAIN_ALLOWANCE_BYTES = 16 * 1024 * 1024;

/**
 * Meters a request body for a streaming reader (the archive extractor): every byte is hashed
 * (the body's sha256 keys idempotent replays) and counted; past `maxBytes` the stream fails
 * with `payload_too_large`, and a body cut off by the client fails with `invalid_request`. The
 * request itself is never destroyed while the client may still be waiting for an answer.
 */
export function meterBody(body: Readable, maxBytes: number): MeteredBody {
  const hash = createHash('sha256');
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  let size = 0;
  let discarded = 0;
  let released = false;
  let ended = false;
  let complete = false;

  const release = (): void => {
    if (released) return;
    released = true;
    out.destroy();
    if (!ended) body.resume();
  };
  body.on('data', (chunk: Buffer) => {
    if (released) {
      discarded += chunk.length;
      if (discarded > maxBytes + DRAIN_ALLOWANCE_BYTES) body.destroy();
      return;
    }
    size += chunk.length;
    if (size > maxBytes) {
      out.destroy(uploadTooLarge(maxBytes));
      release();
      return;
    }
    hash.update(chunk);
    if (!out.write(chunk)) body.pause();
  });
  out.on('drain', () => {
    if (!released) body.resume();
  });
  // A reader that stops early destroys the stream: the rest of the body is then discarded.
  out.on('close', release);
  out.on('error', () => {});
  body.once('end', () => {
    ended = true;
    if (released) return;
    complete = true;
    out.end();
  });
  const interrupted = (cause?: unknown): void => {
    if (!released && !ended) out.destroy(new SlipwayError('invalid_request', 'the upload was interrupted', { cause }));
  };
  body.once('error', interrupted);
  body.once('aborted', () => interrupted());
  body.once('close', () => interrupted());

  return {
    stream: out,
    digest: () => ({ sha256: hash.copy().digest('hex'), size, complete }),
    release,
  };
}

/** The refusal of a body over `maxBytes` (SLIPWAY_MAX_UPLOAD_BYTES). */
export function uploadTooLarge(maxBytes: number): SlipwayError {
  return new SlipwayError('payload_too_large', `the upload is larger than the limit of ${maxBytes} bytes`, { details: { limit_bytes: maxBytes } });
}
