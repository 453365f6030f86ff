import { and, eq, inArray, isNull } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { apiKeys, deployments, runtimeInstances, tenants } from '../store/schema.js';
import type { Db, Tx } from '../store/store.js';
import { requireRole } from './api-keys.js';
import { DEFAULT_TENANT_SLUG } from './bootstrap.js';
import type { Principal, ServiceContext } from './context.js';
import type { EnvService } from './env-service.js';
import { releaseDeploymentDomains } from './domains/domain-queries.js';
import { notifyCertificates, releaseTenantDomains } from './domains/domain-release.js';
import { recordEvent } from './event-log.js';
import { placementHost } from './instance-service.js';
import type { Reconciler } from './reconciler.js';
import { recordRouteChange } from './route-log.js';
import { findTenant, presentTenant, type TenantRow, type TenantView } from './tenant-service.js';
import type { TenantState } from '../core/states.js';

/** What the lifecycle needs besides the context. */
export interface TenantLifecycleDeps {
  reconciler: Pick<Reconciler, 'kick'>;
  env: EnvService;
}

/**
 * Suspending, resuming and deleting tenants (operator only). A suspended tenant keeps every
 * record: its instances stop, the reconciler treats its services as scaled to zero and wakes are
 * refused, and its routes carry `tenant.suspended` so the edges answer its suspension page.
 */
export class TenantLifecycle {
  constructor(private readonly ctx: ServiceContext, private readonly deps: TenantLifecycleDeps) {}

  /** Stops the tenant's apps and serves its suspension page instead; nothing is deleted. */
  async suspend(principal: Principal, id: string): Promise<TenantView> {
    return this.change(principal, { id, verb: 'suspend', target: 'suspended' }, async (tx, row) => {
      const now = new Date();
      await tx.update(tenants).set({ state: 'suspended', suspendedAt: now }).where(eq(tenants.id, id));
      await stopInstances(tx, id, 'the tenant is suspended');
      return { ...row, state: 'suspended', suspendedAt: now };
    });
  }

  /** Serves the tenant's apps again; the reconciler starts their replicas. */
  async resume(principal: Principal, id: string): Promise<TenantView> {
    const view = await this.change(principal, { id, verb: 'resume', target: 'active' }, async (tx, row) => {
      await tx.update(tenants).set({ state: 'active', suspendedAt: null }).where(eq(tenants.id, id));
      return { ...row, state: 'active', suspendedAt: null };
    });
    await this.kickAll(id);
    return view;
  }

  /**
   * Soft-deletes the tenant: its deployments are deleted (slugs and hosts freed, instances
   * stopped, secrets forgotten), its domains released and its keys revoked. Records stay.
   */
  async remove(principal: Principal, id: string): Promise<TenantView> {
    const view = await this.change(principal, { id, verb: 'delete' }, async (tx, row, live) => {
      const now = new Date();
      if (live.length > 0) {
        await tx.update(deployments).set({ deletedAt: now, updatedAt: now }).where(inArray(deployments.id, live));
        for (const d of live) {
          await this.deps.env.forget(tx, d);
          // Released with an event each, so a host's history says when it stopped being served.
          await releaseDeploymentDomains(tx, d, principal.keyId);
        }
      }
      await stopInstances(tx, id, 'the tenant was deleted');
      // What is left are its bases (`apps.example.com`), which name no deployment.
      await releaseTenantDomains(tx, id, principal.keyId);
      await tx.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.tenantId, id), isNull(apiKeys.revokedAt)));
      await tx.update(tenants).set({ deletedAt: now }).where(eq(tenants.id, id));
      return { ...row, deletedAt: now };
    });
    // Its released hosts' certificates were superseded: edges drop them now, not at the backstop.
    await notifyCertificates(this.ctx);
    return view;
  }

  /**
   * Runs one lifecycle change in a transaction with its events and route changes, then notifies.
   * A tenant already in the `target` state is answered as it is: no second event, and
   * `suspended_at` keeps the time it was first suspended.
   */
  private async change(principal: Principal, change: { id: string; verb: 'suspend' | 'resume' | 'delete'; target?: TenantState }, apply: (tx: Tx, row: TenantRow, live: string[]) => Promise<TenantRow>): Promise<TenantView> {
    const { id, verb } = change;
    requireRole(principal, ['operator']);
    const { db } = this.ctx.store;
    const done = await db.transaction(async (tx) => {
      // Held to the commit: two changes of one tenant run one after the other, and a boot reading
      // the row FOR SHARE (RolloutService) either waits for this one or is waited for.
      await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, id)).for('update');
      const row = await findTenant(tx, id);
      if (row.slug === DEFAULT_TENANT_SLUG) {
        throw new SlipwayError('invalid_request', `the default tenant cannot be ${PAST[verb]}: it is the operator's own`, { details: { tenant: id } });
      }
      if (row.state === change.target) return { row, deploymentIds: [] };
      const live = await liveDeployments(tx, id);
      const changed = await apply(tx, row, live);
      const past = PAST[verb];
      await recordEvent(tx, { tenantId: id, deploymentId: null, type: `tenant.${past}`, actor: principal.keyId, reason: `${row.slug} ${past}` });
      // Last, with the change: the edges re-read these routes, which carry the tenant's state.
      for (const d of live) await recordRouteChange(tx, d);
      return { row: changed, deploymentIds: live };
    });
    for (const d of done.deploymentIds) this.ctx.notifier.emit('route', d);
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    return presentTenant(done.row);
  }

  private async kickAll(tenantId: string): Promise<void> {
    for (const d of await liveDeployments(this.ctx.store.db, tenantId)) void this.deps.reconciler.kick(d);
  }
}

/** The past tense of each change, for its event type (`tenant.suspended`) and messages. */
const PAST = { suspend: 'suspended', resume: 'resumed', delete: 'deleted' } as const;

async function liveDeployments(db: Tx | Db, tenantId: string): Promise<string[]> {
  const rows = await db.select({ id: deployments.id }).from(deployments)
    .where(and(eq(deployments.tenantId, tenantId), isNull(deployments.deletedAt)));
  return rows.map((r) => r.id);
}

/**
 * Every instance of the tenant, woken and failed ones included, is told to stop (failed ones so
 * that a resume starts fresh replicas instead of counting them against the service).
 */
async function stopInstances(tx: Tx, tenantId: string, reason: string): Promise<void> {
  await tx.update(runtimeInstances).set({ desired: 'stopped', reason, updatedAt: new Date() })
    .where(and(eq(runtimeInstances.tenantId, tenantId), eq(runtimeInstances.desired, 'running')));
}
