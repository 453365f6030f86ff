import { and, desc, eq, inArray, isNotNull, isNull } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { deployments, rings, runtimeInstances, services, versions } from '../store/schema.js';
import type { Db } from '../store/store.js';
import type { Principal } from './context.js';
import type { DeploymentFacts } from './presenters.js';

export type DeploymentRow = typeof deployments.$inferSelect;

/**
 * Finds a live deployment by id or slug within the caller's tenant (and project, for a
 * project-scoped key). Another tenant's deployment is `deployment_not_found`, never forbidden.
 */
export async function findDeployment(db: Db, principal: Principal, idOrSlug: string): Promise<DeploymentRow> {
  const byId = idOrSlug.startsWith('dep_');
  const [row] = await db
    .select()
    .from(deployments)
    .where(
      and(
        byId ? eq(deployments.id, idOrSlug) : eq(deployments.slug, idOrSlug),
        eq(deployments.tenantId, principal.tenantId),
        principal.projectId ? eq(deployments.projectId, principal.projectId) : undefined,
        isNull(deployments.deletedAt),
      ),
    )
    .limit(1);
  if (!row) throw new SlipwayError('deployment_not_found', `no deployment "${idOrSlug}"`, { details: { deployment: idOrSlug } });
  return row;
}

/** The production ring's active version; `version_not_ready` when nothing is active (for a redeploy that names none). */
export async function activeVersionId(db: Db, dep: DeploymentRow): Promise<string> {
  const [ring] = await db.select({ active: rings.activeVersionId }).from(rings).where(and(eq(rings.deploymentId, dep.id), eq(rings.name, 'production')));
  if (!ring?.active) {
    throw new SlipwayError('version_not_ready', `${dep.slug} has no active version to redeploy: name one with "version"`, { details: { field: 'version' } });
  }
  return ring.active;
}

/** Active version, pending work, the newest failure and degraded services of each deployment, in a fixed number of queries for any number of them. */
export async function loadDeploymentFacts(db: Db, ids: string[]): Promise<Map<string, DeploymentFacts>> {
  const facts = new Map<string, DeploymentFacts>();
  for (const id of ids) facts.set(id, { activeVersionId: null, activeVersionNumber: null, hasPending: false, hasVersions: false, lastFailure: null, degraded: null, unenforcedLimits: [] });
  if (ids.length === 0) return facts;
  const active = await db
    .select({ deploymentId: rings.deploymentId, versionId: versions.id, number: versions.versionNumber })
    .from(rings)
    .innerJoin(versions, eq(versions.id, rings.activeVersionId))
    .where(and(inArray(rings.deploymentId, ids), eq(rings.name, 'production')));
  for (const a of active) {
    const f = facts.get(a.deploymentId)!;
    f.activeVersionId = a.versionId;
    f.activeVersionNumber = a.number;
  }
  const states = await db
    .selectDistinct({ deploymentId: versions.deploymentId, state: versions.state })
    .from(versions)
    .where(inArray(versions.deploymentId, ids));
  for (const s of states) {
    const f = facts.get(s.deploymentId)!;
    f.hasVersions = true;
    if (s.state === 'queued' || s.state === 'building') f.hasPending = true;
  }
  const newest = await db
    .selectDistinctOn([versions.deploymentId], { deploymentId: versions.deploymentId, state: versions.state, number: versions.versionNumber, message: versions.errorMessage })
    .from(versions)
    .where(inArray(versions.deploymentId, ids))
    .orderBy(versions.deploymentId, desc(versions.versionNumber));
  for (const n of newest) {
    if (n.state === 'failed') facts.get(n.deploymentId)!.lastFailure = `version ${n.number}: ${n.message ?? 'failed'}`;
  }
  await loadDegraded(db, ids, facts);
  await loadUnenforcedLimits(db, ids, facts);
  return facts;
}

/** Marks deployments whose services are short of healthy instances because some failed for good. */
async function loadDegraded(db: Db, ids: string[], facts: Map<string, DeploymentFacts>): Promise<void> {
  const rows = await db
    .select({ deploymentId: services.deploymentId, serviceId: services.id, desired: services.desiredReplicas, id: runtimeInstances.id, state: runtimeInstances.state, reason: runtimeInstances.reason })
    .from(services)
    .innerJoin(runtimeInstances, and(eq(runtimeInstances.serviceId, services.id), eq(runtimeInstances.desired, 'running')))
    .where(inArray(services.deploymentId, ids))
    .orderBy(desc(runtimeInstances.updatedAt));
  const byService = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = byService.get(r.serviceId);
    if (list) list.push(r);
    else byService.set(r.serviceId, [r]);
  }
  for (const list of byService.values()) {
    const healthy = list.filter((r) => r.state === 'healthy').length;
    const failed = list.find((r) => r.state === 'failed');
    const { deploymentId, desired } = list[0]!;
    if (!failed || healthy >= desired) continue;
    facts.get(deploymentId)!.degraded = `${healthy} of ${desired} instance(s) healthy: ${failed.id} failed: ${failed.reason}`;
  }
}

/** The distinct reasons, reported by agents, why running instances go without their limits. */
async function loadUnenforcedLimits(db: Db, ids: string[], facts: Map<string, DeploymentFacts>): Promise<void> {
  const rows = await db
    .selectDistinct({ deploymentId: runtimeInstances.deploymentId, why: runtimeInstances.unenforcedLimits })
    .from(runtimeInstances)
    .where(and(inArray(runtimeInstances.deploymentId, ids), eq(runtimeInstances.desired, 'running'), isNotNull(runtimeInstances.unenforcedLimits)));
  for (const r of rows) if (r.why !== null) facts.get(r.deploymentId)!.unenforcedLimits.push(r.why);
}
