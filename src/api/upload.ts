import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';

/** A request body saved to disk. */
export interface SavedUpload {
  path: string;
  sha256: string;
  size: number;
  remove(): Promise<void>;
}

/** How much of an oversized body is read and discarded so the client can see the 413. */
const DRAIN_ALLOWANCE_BYTES = 16 * 1024 * 1024;

/**
 * Streams a body to a temp file while hashing it. Past `maxBytes` it stops writing and
 * discards the rest (up to a bounded allowance, so the client, still sending, reads a clean
 * 413 instead of a reset connection), then refuses it with `payload_too_large`; the partial
 * file is removed.
 */
export async function saveUpload(body: Readable, dir: string, maxBytes: number): Promise<SavedUpload> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${newId('req')}.upload`);
  const hash = createHash('sha256');
  let size = 0;
  const tooLarge = () =>
    new SlipwayError('payload_too_large', `the upload is larger than the limit of ${maxBytes} bytes`, { details: { limit_bytes: maxBytes } });
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes + DRAIN_ALLOWANCE_BYTES) return done(tooLarge());
      if (size > maxBytes) return done();
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(path));
    if (size > maxBytes) throw tooLarge();
  } catch (err) {
    await rm(path, { force: true });
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('invalid_request', 'the upload was interrupted', { cause: err });
  }
  return { path, sha256: hash.digest('hex'), size, remove: () => rm(path, { force: true }) };
}
