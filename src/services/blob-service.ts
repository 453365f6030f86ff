import type { Readable } from 'node:stream';
import { SlipwayError } from '../core/errors.js';
import { isSha256Hex } from '../util/sha256.js';
import type { ServiceContext } from './context.js';

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
}
