import { and, desc, eq } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import type { HealthCheckSpec, ResourceSpec } from '../core/runtime.js';
import { deployments, runtimeInstances, services } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { findDeployment } from './deployment-queries.js';
import { recordEvent } from './event-log.js';
import type { InstanceRow } from './instance-service.js';
import { placementHost } from './instance-service.js';
import type { Reconciler } from './reconciler.js';
import type { ServiceRow } from './service-config.js';

/** What `PATCH /api/v1/services/:id` may change. */
export interface ServicePatch {
  desired_replicas?: number;
  health?: Partial<HealthCheckSpec>;
  resources?: Partial<ResourceSpec>;
}

/** The Service object of docs/api.md. */
export function presentService(row: ServiceRow, live: InstanceRow[]) {
  const healthy = live.filter((i) => i.state === 'healthy').length;
  const state: 'running' | 'starting' | 'degraded' = healthy >= row.desiredReplicas ? 'running' : live.some((i) => i.state === 'failed') ? 'degraded' : 'starting';
  return {
    id: row.id,
    deployment_id: row.deploymentId,
    type: row.type,
    state,
    desired_replicas: row.desiredReplicas,
    healthy_instances: healthy,
    health: row.health,
    resources: row.resources,
    sticky: row.sticky ?? null,
    crash_loop_budget: row.crashLoopBudget,
    drain_timeout_ms: row.drainTimeoutMs,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** The RuntimeInstance object of docs/api.md. */
export function presentInstance(row: InstanceRow) {
  return {
    id: row.id,
    deployment_id: row.deploymentId,
    service_id: row.serviceId,
    version_id: row.versionId,
    host_id: row.hostId,
    desired: row.desired,
    state: row.state,
    address: row.address,
    reason: row.reason,
    reason_code: row.reasonCode,
    restart_count: row.restartCount,
    limits_enforced: row.unenforcedLimits === null,
    unenforced_limits_reason: row.unenforcedLimits,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export type ServiceView = ReturnType<typeof presentService>;
export type InstanceView = ReturnType<typeof presentInstance>;

/** Services and instances as users see and change them. */
export class RuntimeService {
  constructor(private readonly ctx: ServiceContext, private readonly reconciler: Reconciler) {}

  /** The deployment's services (none for a static site). */
  async listServices(principal: Principal, deployment: string): Promise<ServiceView[]> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    return this.servicesOf(dep.id);
  }

  /** Services of a deployment with their live counts (no tenancy check: callers did it). */
  async servicesOf(deploymentId: string): Promise<ServiceView[]> {
    const db = this.ctx.store.db;
    const rows = await db.select().from(services).where(eq(services.deploymentId, deploymentId));
    const out: ServiceView[] = [];
    for (const row of rows) {
      const live = await db.select().from(runtimeInstances).where(and(eq(runtimeInstances.serviceId, row.id), eq(runtimeInstances.desired, 'running')));
      out.push(presentService(row, live));
    }
    return out;
  }

  /** The deployment's instances, newest first (the last 100, stopped ones included). */
  async listInstances(principal: Principal, deployment: string): Promise<InstanceView[]> {
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    const rows = await this.ctx.store.db.select().from(runtimeInstances)
      .where(eq(runtimeInstances.deploymentId, dep.id)).orderBy(desc(runtimeInstances.id)).limit(100);
    return rows.map(presentInstance);
  }

  /** Changes replicas or settings; the reconciler applies a replica change at once. */
  async updateService(principal: Principal, serviceId: string, patch: ServicePatch): Promise<ServiceView> {
    const db = this.ctx.store.db;
    const [row] = await db.select({ s: services }).from(services)
      .innerJoin(deployments, eq(deployments.id, services.deploymentId))
      .where(and(eq(services.id, serviceId), eq(services.tenantId, principal.tenantId),
        principal.projectId ? eq(deployments.projectId, principal.projectId) : undefined));
    if (!row) throw new SlipwayError('service_not_found', `no service "${serviceId}"`, { details: { service: serviceId } });
    const s = row.s;
    await db.transaction(async (tx) => {
      await tx.update(services).set({
        desiredReplicas: patch.desired_replicas ?? s.desiredReplicas,
        health: { ...s.health, ...patch.health },
        resources: { ...s.resources, ...patch.resources },
        updatedAt: new Date(),
      }).where(eq(services.id, s.id));
      await recordEvent(tx, {
        tenantId: s.tenantId, deploymentId: s.deploymentId, type: 'service.updated', actor: principal.keyId,
        reason: patch.desired_replicas !== undefined ? `replicas set to ${patch.desired_replicas}` : 'service settings changed',
        data: { service_id: s.id, ...patch },
      });
    });
    this.ctx.notifier.emit('events', s.deploymentId);
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    await this.reconciler.kick(s.deploymentId, { replaceFailed: true });
    return (await this.servicesOf(s.deploymentId)).find((v) => v.id === s.id)!;
  }
}
