import { isSlipwayError, SlipwayError } from '../../core/errors.js';
import { fileReleaseBlobs, isFileReleaseManifest, type FileReleaseManifest } from '../../core/release-format.js';
import type { BlobStore } from '../../blobs/blob-store.js';

/** What {@link releaseBlobs} needs of a version. */
export interface ReleaseRef {
  kind: string;
  artifactSha256: string;
}

/**
 * Every blob a version's release needs: the release blob itself and whatever it names. The one
 * place that knows which release formats point at other blobs, so garbage collection marks them
 * (docs/operations.md#disk-and-garbage-collection); a new format that references blobs adds its
 * branch here.
 *
 * - static format 1 (one tar), dynamic app trees and image releases (one tgz holding the saved
 *   image): the release blob alone.
 * - static format 2: the manifest blob plus every file and precompressed variant it names.
 *
 * A release blob that is missing needs nothing more (there is nothing left to read); any other
 * failure to read one throws, so the caller sweeps nothing rather than guess.
 */
export async function releaseBlobs(blobs: BlobStore, release: ReleaseRef): Promise<string[]> {
  const sha = release.artifactSha256;
  if (release.kind !== 'static') return [sha];
  let head: Buffer;
  try {
    head = await firstBytes(blobs, sha);
  } catch (err) {
    if (isSlipwayError(err, 'blob_not_found')) return [sha];
    throw err;
  }
  if (!isFileReleaseManifest(head)) return [sha];
  let manifest: FileReleaseManifest;
  try {
    manifest = JSON.parse((await blobs.read(sha)).toString('utf8')) as FileReleaseManifest;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    // Not knowing what it names, nothing may be swept: a clear error, not a guess.
    throw new SlipwayError('internal_error', `release ${sha} starts like a file manifest but is not JSON; nothing is swept until it is fixed`, {
      cause: err, details: { artifact_sha256: sha },
    });
  }
  return [sha, ...fileReleaseBlobs(manifest)];
}

/** The first chunk of a blob, without reading the rest. */
async function firstBytes(blobs: BlobStore, sha256: string): Promise<Buffer> {
  const stream = await blobs.openRead(sha256);
  try {
    for await (const chunk of stream) return chunk as Buffer;
    return Buffer.alloc(0);
  } finally {
    stream.destroy();
  }
}
