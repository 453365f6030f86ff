/**
 * The wire format of `POST /api/v1/internal/blobs/batch`, shared by the server (writer) and the
 * edge (reader). The request is `{"sha256": [...]}`; the answer (`application/octet-stream`) is
 * one frame per requested blob, in request order: a {@link BLOB_FRAME_HEADER_BYTES}-byte header
 * (the blob's sha256 as 32 raw bytes, then its size as a big-endian uint64), then the bytes.
 * Frames carry their own name and length, so the reader checks each blob against its address
 * as it arrives and a cut-off answer is told apart from a short blob.
 */
export const BLOB_FRAME_HEADER_BYTES = 40;

/** Most blobs one batch may name. */
export const MAX_BLOB_BATCH_COUNT = 1000;

/**
 * Most bytes of blobs one batch may carry (frame headers not counted). Batches are for the many
 * small files of a static release; a file this large is fetched alone with `GET`.
 */
export const MAX_BLOB_BATCH_BYTES = 64 * 1024 * 1024;

/** The header of one frame. */
export function encodeBlobFrameHeader(sha256: string, size: number): Buffer {
  const header = Buffer.alloc(BLOB_FRAME_HEADER_BYTES);
  header.write(sha256, 0, 32, 'hex');
  header.writeBigUInt64BE(BigInt(size), 32);
  return header;
}

/** Reads a frame header: the sha256 (lowercase hex) and the size that follows. */
export function decodeBlobFrameHeader(header: Buffer): { sha256: string; size: number } {
  const size = header.readBigUInt64BE(32);
  return { sha256: header.subarray(0, 32).toString('hex'), size: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size) };
}
