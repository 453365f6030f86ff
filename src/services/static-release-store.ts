import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { BlobStore } from '../blobs/blob-store.js';
import { parseFileReleaseManifest, type FileReleaseTarget, type ReleaseBlobSink } from '../build/static-file-release.js';
import { isFileReleaseManifest, type FileReleaseManifest } from '../core/release-format.js';
import { versions } from '../store/schema.js';
import type { ServiceContext } from './context.js';

/**
 * The blob store as a format-2 release's sink: a blob already stored is touched instead of put
 * again, so garbage collection (which spares recently written blobs) does not take it between
 * now and the commit of the version that names it.
 */
export function releaseBlobSink(blobs: BlobStore): ReleaseBlobSink {
  return {
    keep: (sha256) => blobs.touch(sha256),
    put: async (data, sha256) => {
      await blobs.put(data, sha256);
    },
    putFile: (path) => blobs.putFile(path),
  };
}

/**
 * Where a build of `deploymentId` stores a static release: the blob store, with the
 * deployment's latest format-2 static release as the source of precompressed variants to
 * reuse (a republish then compresses only the files that changed).
 */
export async function fileReleaseTarget(ctx: ServiceContext, deploymentId: string): Promise<FileReleaseTarget> {
  const sink = releaseBlobSink(ctx.blobs);
  const [last] = await ctx.store.db.select({ sha: versions.artifactSha256 }).from(versions)
    .where(and(eq(versions.deploymentId, deploymentId), eq(versions.state, 'ready'), eq(versions.kind, 'static'), isNotNull(versions.artifactSha256)))
    .orderBy(desc(versions.versionNumber)).limit(1);
  const previous = last?.sha ? await readFileManifest(ctx, last.sha) : null;
  return { sink, previous: previous === null ? [] : [previous] };
}

/** The format-2 manifest stored under `sha256`, or null for a format-1 tar or a blob gone. */
export async function readFileManifest(ctx: ServiceContext, sha256: string): Promise<FileReleaseManifest | null> {
  const chunks: Buffer[] = [];
  try {
    const stream = await ctx.blobs.openRead(sha256);
    for await (const chunk of stream) {
      // A format-1 tar is read no further than its first chunk.
      if (chunks.length === 0 && !isFileReleaseManifest(chunk as Buffer)) {
        stream.destroy();
        return null;
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    // Reuse is an optimization: a release collected meanwhile only means compressing again.
    ctx.logger.debug({ err, sha256 }, 'previous release not readable; variants are made afresh');
    return null;
  }
  return parseFileReleaseManifest(Buffer.concat(chunks));
}
