import { isNotNull, isNull, and } from 'drizzle-orm';
import type { BlobStore } from '../../blobs/blob-store.js';
import { versions } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import { mapConcurrent } from '../../util/map-concurrent.js';
import { releaseBlobs } from './release-refs.js';

/**
 * Every blob the store names now: each version's snapshot and build log (kept forever: a
 * snapshot is what makes a version rebuildable), and the release blobs of every version whose
 * release is not collected, in any state (a dynamic version mid-rollout has its release already).
 * `assumeCollected` leaves out those versions' releases too, for a dry run.
 */
export async function markReferencedBlobs(db: Db, blobs: BlobStore, assumeCollected: ReadonlySet<string> = new Set()): Promise<Set<string>> {
  const marks = new Set<string>();
  for (const r of await db.selectDistinct({ sha: versions.sourceSha256 }).from(versions)) marks.add(r.sha);
  for (const r of await db.selectDistinct({ sha: versions.buildLogSha256 }).from(versions).where(isNotNull(versions.buildLogSha256))) marks.add(r.sha!);
  const releases = await db.select({ id: versions.id, kind: versions.kind, sha: versions.artifactSha256 }).from(versions)
    .where(and(isNotNull(versions.artifactSha256), isNull(versions.artifactCollectedAt)));
  // One read per distinct release: republished content shares its release blob.
  const distinct = new Map<string, string>();
  for (const r of releases) if (!assumeCollected.has(r.id)) distinct.set(r.sha!, r.kind);
  const refs = await mapConcurrent([...distinct], 8, ([sha, kind]) => releaseBlobs(blobs, { kind, artifactSha256: sha }));
  for (const list of refs) for (const sha of list) marks.add(sha);
  return marks;
}
