import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { BLOB_FRAME_HEADER_BYTES, decodeBlobFrameHeader } from '../core/blob-batch.js';
import { SlipwayError } from '../core/errors.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { sha256Buffer } from '../util/sha256.js';
import type { FileCache } from './file-cache.js';
import { blobAnswerError, downloadBlob, type ReleaseSourceConfig } from './release-source.js';

/** A blob a release names, with the size its manifest gives. */
export interface BlobRef {
  sha256: string;
  size: number;
}

/** Most blobs per batch request (the server accepts 1000). */
const BATCH_COUNT = 500;
/** Most bytes per batch request (the server accepts 64 MiB): one batch's answer is buffered blob by blob. */
const BATCH_BYTES = 8 * 1024 * 1024;
/** Blobs larger than this are streamed to disk alone with `GET`, never held in memory. */
const SINGLE_FETCH_BYTES = 4 * 1024 * 1024;
/** Requests in flight per release; route-sync loads a few releases at once on top of this. */
const FETCH_CONCURRENCY = 2;

/** Options for {@link fetchBlobs}. */
export interface FetchBlobsOptions {
  /** Where fetched blobs are stored. */
  files: FileCache;
  /** Bodies up to this size are handed back (they are about to be served from memory). */
  keepBytes: number;
  /** Stop handing bodies back once this many bytes are kept. */
  maxKeptBytes: number;
}

/** What {@link fetchBlobs} fetched: bodies kept for the caller, and counters. */
export interface FetchedBlobs {
  bodies: Map<string, Buffer>;
  bytes: number;
  count: number;
}

/**
 * Fetches `wanted` blobs from the server into the file cache: small ones many to a request
 * (`POST /api/v1/internal/blobs/batch`), large ones one by one streamed to disk, each checked
 * against its name and manifest size before it is stored. Throws `blob_not_found`,
 * `unauthorized`, `unavailable` or `blob_corrupt` (as a release download does); blobs stored
 * before a failure stay cached, they are correct.
 */
export async function fetchBlobs(config: ReleaseSourceConfig, wanted: readonly BlobRef[], options: FetchBlobsOptions): Promise<FetchedBlobs> {
  const { files } = options;
  const result: FetchedBlobs = { bodies: new Map(), bytes: 0, count: 0 };
  let kept = 0;
  const keep = (sha256: string, body: Buffer) => {
    if (body.length > options.keepBytes || kept + body.length > options.maxKeptBytes) return;
    kept += body.length;
    result.bodies.set(sha256, body);
  };
  const large = wanted.filter((b) => b.size > SINGLE_FETCH_BYTES);
  const batches = planBatches(wanted.filter((b) => b.size <= SINGLE_FETCH_BYTES));
  const jobs: Array<() => Promise<void>> = [
    ...large.map((blob) => async () => {
      const path = files.path(blob.sha256);
      await mkdir(dirname(path), { recursive: true });
      await downloadBlob(config, blob.sha256, { path });
      files.trust(blob.sha256);
      result.bytes += blob.size;
      result.count++;
    }),
    ...batches.map((batch) => async () => {
      await fetchBatch(config, batch, async (sha256, body) => {
        await files.write(sha256, body);
        keep(sha256, body);
        result.bytes += body.length;
        result.count++;
      });
    }),
  ];
  await mapConcurrent(jobs, FETCH_CONCURRENCY, (job) => job());
  return result;
}

function planBatches(blobs: readonly BlobRef[]): BlobRef[][] {
  const batches: BlobRef[][] = [];
  let current: BlobRef[] = [];
  let bytes = 0;
  for (const blob of blobs) {
    if (current.length === BATCH_COUNT || (current.length > 0 && bytes + blob.size > BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(blob);
    bytes += blob.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

function corrupt(message: string, details: Record<string, unknown>): SlipwayError {
  return new SlipwayError('blob_corrupt', `blob batch: ${message}`, { details });
}

/** One batch request; `onBlob` gets each blob once its bytes match its name and size. */
async function fetchBatch(
  config: ReleaseSourceConfig,
  batch: readonly BlobRef[],
  onBlob: (sha256: string, body: Buffer) => Promise<void>,
): Promise<void> {
  const url = `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/blobs/batch`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sha256: batch.map((b) => b.sha256) }),
      signal: AbortSignal.timeout(config.fetchTimeoutMs ?? 120_000),
    });
  } catch (err) {
    throw new SlipwayError('unavailable', 'blob batch request failed', { cause: err });
  }
  if (res.status !== 200 || res.body === null) {
    await res.body?.cancel();
    throw blobAnswerError(res.status, null);
  }
  const frames = new FrameReader();
  let next = 0;
  try {
    for await (const chunk of res.body) {
      frames.push(Buffer.from(chunk));
      for (let frame = frames.next(); frame !== null; frame = frames.next()) {
        const expected = batch[next++];
        if (expected === undefined) throw corrupt('more blobs than asked for', {});
        if (frame.sha256 !== expected.sha256 || frame.body.length !== expected.size) {
          throw corrupt('not the blob asked for', { sha256: expected.sha256, got: frame.sha256 });
        }
        if (sha256Buffer(frame.body) !== expected.sha256) throw corrupt('blob does not match its sha256', { sha256: expected.sha256 });
        await onBlob(expected.sha256, frame.body);
      }
    }
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('unavailable', 'blob batch answer failed', { cause: err });
  }
  if (next !== batch.length || !frames.empty) throw corrupt('answer cut short', { received: next, asked: batch.length });
}

/** Splits a byte stream into frames (`src/core/blob-batch.ts`); one frame's bytes at a time. */
class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;

  get empty(): boolean {
    return this.#buffered === 0;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next whole frame, or null until more bytes arrive. */
  next(): { sha256: string; body: Buffer } | null {
    if (this.#buffered < BLOB_FRAME_HEADER_BYTES) return null;
    const head = this.#peek(BLOB_FRAME_HEADER_BYTES);
    const { sha256, size } = decodeBlobFrameHeader(head);
    if (size > BATCH_BYTES) throw corrupt('frame larger than any batch', { sha256, size });
    if (this.#buffered < BLOB_FRAME_HEADER_BYTES + size) return null;
    const all = this.#take(BLOB_FRAME_HEADER_BYTES + size);
    return { sha256, body: all.subarray(BLOB_FRAME_HEADER_BYTES) };
  }

  #peek(n: number): Buffer {
    if ((this.#chunks[0]?.length ?? 0) < n) this.#chunks = [Buffer.concat(this.#chunks)];
    return (this.#chunks[0] as Buffer).subarray(0, n);
  }

  #take(n: number): Buffer {
    const joined = (this.#chunks[0]?.length ?? 0) >= n ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    const rest = joined.subarray(n);
    const taken = Buffer.from(joined.subarray(0, n));
    const tail = (this.#chunks[0]?.length ?? 0) >= n ? [rest, ...this.#chunks.slice(1)] : [rest];
    this.#chunks = tail.filter((c) => c.length > 0);
    this.#buffered -= n;
    return taken;
  }
}
