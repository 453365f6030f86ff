import { and, desc, eq, gte, inArray, isNotNull, isNull, lt, notInArray } from 'drizzle-orm';
import { TERMINAL_INSTANCE_STATES } from '../../core/runtime.js';
import { deployments, events, rings, runtimeInstances, versions } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/** Which ready versions' release artifacts are kept (SLIPWAY_RETAIN_VERSIONS, SLIPWAY_RETAIN_DAYS). */
export interface RetentionPolicy {
  /** The newest this many ready versions of each live deployment keep their releases (≥ 1). */
  keepVersions: number;
  /** Every version that was active at any moment in this many past days keeps its release. */
  keepDays: number;
}

/** A version whose release the policy lets go. */
export interface CollectableVersion {
  id: string;
  tenantId: string;
  deploymentId: string;
  versionNumber: number;
  artifactSha256: string;
}

/** When {@link findCollectable} looks, and how long a failed version's release is kept. */
export interface FindCollectableOptions {
  now: Date;
  /** A failed version's release goes once the version ended longer ago than this (the GC grace). */
  failedGraceMs: number;
}

/** The events that move a ring's active pointer; each names the version made active. */
export const POINTER_EVENTS = ['deployment.promoted', 'deployment.rolled_back'] as const;

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The versions whose releases may be collected at `now`: every ready, uncollected version
 * except, per live deployment, the newest `keepVersions`; and, for every deployment (deleted
 * ones too), the version each ring points at, versions with a live instance (woken, draining)
 * and versions active at some moment in the last `keepDays` days. A failed version that stored
 * a release (a dynamic one stores it before its instances boot) serves nothing: its release goes
 * once the version ended more than `failedGraceMs` ago, unless an instance of it still runs.
 * Queued and building versions are never collected. Records, snapshots and build logs are never
 * collected at all.
 */
export async function findCollectable(db: Db, policy: RetentionPolicy, options: FindCollectableOptions): Promise<CollectableVersion[]> {
  const { now, failedGraceMs } = options;
  const rows = await db.select({
    id: versions.id, tenantId: versions.tenantId, deploymentId: versions.deploymentId, versionNumber: versions.versionNumber,
    artifactSha256: versions.artifactSha256, deletedAt: deployments.deletedAt, state: versions.state,
    endedAt: versions.finishedAt, createdAt: versions.createdAt,
  }).from(versions)
    .innerJoin(deployments, eq(deployments.id, versions.deploymentId))
    .where(and(inArray(versions.state, ['ready', 'failed']), isNull(versions.artifactCollectedAt), isNotNull(versions.artifactSha256)));
  const kept = await protectedVersions(db, policy, now);
  const out: CollectableVersion[] = [];
  const failedBefore = now.getTime() - failedGraceMs;
  for (const row of rows) {
    if (row.state !== 'failed' || kept.has(row.id) || (row.endedAt ?? row.createdAt).getTime() >= failedBefore) continue;
    out.push({ id: row.id, tenantId: row.tenantId, deploymentId: row.deploymentId, versionNumber: row.versionNumber, artifactSha256: row.artifactSha256! });
  }
  const byDeployment = new Map<string, typeof rows>();
  for (const row of rows) if (row.state === 'ready') byDeployment.set(row.deploymentId, [...(byDeployment.get(row.deploymentId) ?? []), row]);
  for (const list of byDeployment.values()) {
    list.sort((a, b) => b.versionNumber - a.versionNumber);
    // A deleted deployment serves nothing and cannot be redeployed: only the rules below keep its releases.
    const newest = list[0]!.deletedAt === null ? Math.max(policy.keepVersions, 1) : 0;
    for (const [i, row] of list.entries()) {
      if (i < newest || kept.has(row.id)) continue;
      out.push({ id: row.id, tenantId: row.tenantId, deploymentId: row.deploymentId, versionNumber: row.versionNumber, artifactSha256: row.artifactSha256! });
    }
  }
  return out;
}

/** Ring pointers, versions with live instances, and versions active within the window. */
async function protectedVersions(db: Db, policy: RetentionPolicy, now: Date): Promise<Set<string>> {
  const kept = new Set<string>();
  for (const r of await db.select({ id: rings.activeVersionId }).from(rings).where(isNotNull(rings.activeVersionId))) kept.add(r.id!);
  const live = await db.selectDistinct({ id: runtimeInstances.versionId }).from(runtimeInstances)
    .where(notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES]));
  for (const r of live) kept.add(r.id);
  const cutoff = new Date(now.getTime() - policy.keepDays * DAY_MS);
  // Made active inside the window...
  const recent = await db.selectDistinct({ id: events.versionId }).from(events)
    .where(and(inArray(events.type, [...POINTER_EVENTS]), gte(events.createdAt, cutoff)));
  for (const r of recent) if (r.id) kept.add(r.id);
  // ...or still active when it began: the last one made active before it, per deployment.
  const atCutoff = await db.selectDistinctOn([events.deploymentId], { id: events.versionId }).from(events)
    .where(and(inArray(events.type, [...POINTER_EVENTS]), lt(events.createdAt, cutoff)))
    .orderBy(events.deploymentId, desc(events.createdAt), desc(events.id));
  for (const r of atCutoff) if (r.id) kept.add(r.id);
  return kept;
}
