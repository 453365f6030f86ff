import { Readable } from 'node:stream';
import { BLOB_FRAME_HEADER_BYTES, MAX_BLOB_BATCH_BYTES, encodeBlobFrameHeader } from '../core/blob-batch.js';
import { SlipwayError } from '../core/errors.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { isSha256Hex } from '../util/sha256.js';
import type { ServiceContext } from './context.js';

/** Blobs up to this size are read whole into a batch answer rather than streamed. */
const SMALL_BLOB_BYTES = 256 * 1024;

/** A blob opened for download: its size (for `content-length`) and its bytes. */
export interface BlobDownload {
  size: number;
  /** Errors with `blob_corrupt` at the end if the bytes do not match the address. */
  stream: Readable;
}

/**
 * Blobs as the API hands them out: the releases and images the edge and the agents download.
 * The API reaches data only through services (docs/architecture.md §5), blob storage included.
 */
export class BlobService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Opens the blob named `sha256`; throws `blob_not_found` for a missing blob or a name that is no sha256. */
  async download(sha256: string): Promise<BlobDownload> {
    if (!isSha256Hex(sha256)) throw new SlipwayError('blob_not_found', 'not a sha256');
    const info = await this.ctx.blobs.stat(sha256);
    if (!info) throw new SlipwayError('blob_not_found', `no blob ${sha256}`);
    return { size: info.size, stream: await this.ctx.blobs.openRead(sha256) };
  }

  /**
   * Opens many blobs as one framed stream (`src/core/blob-batch.ts`), in the order named. Every
   * blob is looked up before a byte is sent, so a missing one is a clear `blob_not_found`
   * (`details.missing`) rather than a cut stream; more than {@link MAX_BLOB_BATCH_BYTES} in
   * all is `invalid_request`. A blob found corrupt while streaming errors the stream, which
   * cuts the answer short: the reader checks each blob against its address anyway.
   */
  async downloadBatch(shas: readonly string[]): Promise<BlobDownload> {
    const bad = shas.filter((sha) => !isSha256Hex(sha));
    if (bad.length > 0) throw new SlipwayError('invalid_request', 'not a sha256', { details: { sha256: bad.slice(0, 10) } });
    const infos = await mapConcurrent(shas, 16, (sha) => this.ctx.blobs.stat(sha));
    const missing = shas.filter((_, i) => infos[i] === null);
    if (missing.length > 0) {
      throw new SlipwayError('blob_not_found', `${missing.length} of ${shas.length} blobs do not exist`, { details: { missing: missing.slice(0, 100) } });
    }
    const bytes = infos.reduce((sum, info) => sum + (info?.size ?? 0), 0);
    if (bytes > MAX_BLOB_BATCH_BYTES) {
      throw new SlipwayError('invalid_request', 'the blobs together are too large for one batch', { details: { bytes, max_bytes: MAX_BLOB_BATCH_BYTES } });
    }
    const blobs = this.ctx.blobs;
    async function* frames(): AsyncGenerator<Buffer> {
      for (const [i, sha] of shas.entries()) {
        const size = infos[i]?.size ?? 0;
        yield encodeBlobFrameHeader(sha, size);
        // One blob open at a time: a batch holds one file descriptor, whatever its count. Small
        // ones (nearly all: site files) are read whole, which costs less than a stream each.
        if (size <= SMALL_BLOB_BYTES) yield await blobs.read(sha);
        else for await (const chunk of await blobs.openRead(sha)) yield chunk as Buffer;
      }
    }
    return { size: bytes + shas.length * BLOB_FRAME_HEADER_BYTES, stream: Readable.from(frames(), { objectMode: false }) };
  }
}
