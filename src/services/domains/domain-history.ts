import { and, desc, eq, inArray, lte, sql } from 'drizzle-orm';
import { deployments, events } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/** What a host served at a moment, as far as its tenant's events tell. */
export interface HostAtTime {
  hostname: string;
  at: string;
  /** The domain whose event put the host on a deployment; null when it served nothing. */
  domain_id: string | null;
  deployment_id: string | null;
  deployment_slug: string | null;
  version_id: string | null;
  version_number: number | null;
}

/** Events that start or stop a custom host serving its deployment. */
const HOST_EVENTS = ['domain.verified', 'domain.removed'];
/** Events that move a deployment's active version. */
const POINTER_EVENTS = ['deployment.promoted', 'deployment.rolled_back'];

/**
 * Which deployment and version a custom host served at `at`, from the tenant's events (never
 * deleted, docs/architecture.md §7): the newest `domain.verified`/`domain.removed` of the host
 * up to then says whether it served and which deployment; the newest promotion or rollback of
 * that deployment up to then says which version; a `deployment.deleted` before then means nothing.
 */
export async function hostAtTime(db: Db, query: { tenantId: string; hostname: string; at: Date }): Promise<HostAtTime> {
  const { tenantId, hostname, at } = query;
  const out: HostAtTime = {
    hostname, at: at.toISOString(), domain_id: null, deployment_id: null, deployment_slug: null, version_id: null, version_number: null,
  };
  const [hostEvent] = await db.select({ type: events.type, deploymentId: events.deploymentId, data: events.data }).from(events).where(and(
    eq(events.tenantId, tenantId), inArray(events.type, HOST_EVENTS), lte(events.createdAt, at), sql`${events.data}->>'hostname' = ${hostname}`,
  )).orderBy(desc(events.createdAt), desc(events.id)).limit(1);
  if (!hostEvent || hostEvent.type !== 'domain.verified' || hostEvent.deploymentId === null) return out;
  const deploymentId = hostEvent.deploymentId;
  const [deleted] = await db.select({ id: events.id }).from(events).where(and(
    eq(events.deploymentId, deploymentId), eq(events.type, 'deployment.deleted'), lte(events.createdAt, at),
  )).limit(1);
  if (deleted) return out;
  const [dep] = await db.select({ slug: deployments.slug }).from(deployments).where(eq(deployments.id, deploymentId)).limit(1);
  const [pointer] = await db.select({ versionId: events.versionId, data: events.data }).from(events).where(and(
    eq(events.deploymentId, deploymentId), inArray(events.type, POINTER_EVENTS), lte(events.createdAt, at),
  )).orderBy(desc(events.createdAt), desc(events.id)).limit(1);
  out.domain_id = typeof hostEvent.data.domain_id === 'string' ? hostEvent.data.domain_id : null;
  out.deployment_id = deploymentId;
  out.deployment_slug = dep?.slug ?? null;
  out.version_id = pointer?.versionId ?? null;
  out.version_number = typeof pointer?.data.version_number === 'number' ? pointer.data.version_number : null;
  return out;
}
