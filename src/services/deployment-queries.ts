import { and, eq, inArray, isNull } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { deployments, rings, versions } from '../store/schema.js';
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

/** Active version and pending work of each deployment, in two queries for any number of them. */
export async function loadDeploymentFacts(db: Db, ids: string[]): Promise<Map<string, DeploymentFacts>> {
  const facts = new Map<string, DeploymentFacts>();
  for (const id of ids) facts.set(id, { activeVersionId: null, activeVersionNumber: null, hasPending: false, hasVersions: false });
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
  return facts;
}
