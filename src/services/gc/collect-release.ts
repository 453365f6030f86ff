import { and, eq, inArray, isNull, notInArray } from 'drizzle-orm';
import { newId } from '../../core/ids.js';
import { TERMINAL_INSTANCE_STATES } from '../../core/runtime.js';
import { events, rings, runtimeInstances, versions } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import { recordRouteChange } from '../route-log.js';
import type { CollectableVersion } from './retention.js';

/** The event recorded for each version whose release garbage collection deleted. */
export const ARTIFACT_COLLECTED_EVENT = 'version.artifact_collected';

/**
 * Marks releases of one deployment's versions collected, in a transaction holding the
 * deployment's ring rows (`FOR UPDATE`): a rollback takes the same lock and checks the mark
 * after it, so a version is never made active once collected, and is never collected while it
 * is active. A version with a live instance (woken, or draining) is left too. Returns the ids
 * marked, each with a `version.artifact_collected` event, and records a route change when any
 * was (the caller notifies `route`); the blobs go in the sweep that follows, only if nothing
 * else names them.
 */
export async function markReleasesCollected(db: Db, deploymentVersions: readonly CollectableVersion[], reason: string): Promise<string[]> {
  const first = deploymentVersions[0];
  if (first === undefined) return [];
  const ids = deploymentVersions.map((v) => v.id);
  return db.transaction(async (tx) => {
    const ringRows = await tx.select({ active: rings.activeVersionId }).from(rings)
      .where(eq(rings.deploymentId, first.deploymentId)).for('update');
    const busy = new Set(ringRows.map((r) => r.active));
    // The versions too, before looking for live instances: a boot (wake, rollback) holds its
    // version's row FOR SHARE while it inserts instances and re-checks the mark, so it either
    // committed them (and they are seen below) or waits and then sees the mark.
    await tx.select({ id: versions.id }).from(versions).where(inArray(versions.id, ids)).orderBy(versions.id).for('update');
    const live = await tx.selectDistinct({ id: runtimeInstances.versionId }).from(runtimeInstances)
      .where(and(inArray(runtimeInstances.versionId, ids), notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES])));
    for (const r of live) busy.add(r.id);
    const free = ids.filter((id) => !busy.has(id));
    if (free.length === 0) return [];
    const marked = await tx.update(versions).set({ artifactCollectedAt: new Date() })
      .where(and(inArray(versions.id, free), eq(versions.deploymentId, first.deploymentId), inArray(versions.state, ['ready', 'failed']), isNull(versions.artifactCollectedAt)))
      .returning({ id: versions.id, state: versions.state });
    const done = new Set(marked.map((m) => m.id));
    const now = new Date();
    const rows = deploymentVersions.filter((v) => done.has(v.id)).map((v) => ({
      id: newId('evt'), tenantId: v.tenantId, deploymentId: v.deploymentId, versionId: v.id, type: ARTIFACT_COLLECTED_EVENT, actor: 'system',
      reason, data: { version_number: v.versionNumber, artifact_sha256: v.artifactSha256 }, createdAt: now,
    }));
    if (rows.length > 0) await tx.insert(events).values(rows);
    // The routes list every ready version with a release (preview hosts `v<N>--<slug>`): they
    // change, recorded last in this same transaction (docs/architecture.md §7). Failed versions
    // were never routed.
    if (marked.some((m) => m.state === 'ready')) await recordRouteChange(tx, first.deploymentId);
    return [...done];
  });
}
