import { and, eq, isNull, ne, notInArray } from 'drizzle-orm';
import { TERMINAL_INSTANCE_STATES } from '../core/runtime.js';
import { deployments, rings, runtimeInstances, services, tenants, versions } from '../store/schema.js';
import type { Tx } from '../store/store.js';
import type { ServiceContext } from './context.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import { placementHost, type InstanceService } from './instance-service.js';

/** The outcome of reconciling one deployment. */
export interface ReconcileResult {
  deploymentId: string;
  started: number;
  stopped: number;
  error?: string;
}

/** How often every deployment is compared, besides the wake-ups on changes. */
const PASS_INTERVAL_MS = 5_000;
/** How long after a switch the old version's instances may still run before a pass stops them. */
const SUPERSEDED_GRACE_MS = 60_000;

/** One service's replicas to bring to its desired count. */
interface ReconcileTarget {
  deploymentId: string;
  service: typeof services.$inferSelect;
  version: typeof versions.$inferSelect;
  replaceFailed: boolean;
}

/**
 * Compares desired and actual instances of every deployment's active dynamic version and
 * closes the gap: too few live instances → new ones, too many → the extra ones drain and
 * stop. An instance that spent its crash-loop budget stays `failed` and is not replaced on
 * its own (that would only restart the loop); scaling again, publishing or rolling back does.
 * Restarts of a crashed instance are the agent's job, which needs no server to do them.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private readonly off: () => void;

  constructor(private readonly ctx: ServiceContext, private readonly instances: InstanceService) {
    // Fire and forget: kick() logs a failed pass on its own chain, and the next pass retries.
    this.off = ctx.notifier.on('instance', (id) => void this.kick(id));
  }

  /** Starts the periodic passes. */
  start(): void {
    this.timer = setInterval(() => void this.kick(), PASS_INTERVAL_MS);
    void this.kick();
  }

  stop(): Promise<unknown> {
    clearInterval(this.timer);
    this.off();
    return this.running;
  }

  /** Queues a pass over one deployment (or all of them). */
  kick(deploymentId?: string, options: { replaceFailed?: boolean } = {}): Promise<ReconcileResult[]> {
    const next = this.running.then(() => this.pass(deploymentId, options.replaceFailed ?? false));
    this.running = next.catch((err) => this.ctx.logger.error({ err }, 'reconcile pass failed'));
    return next;
  }

  private async pass(deploymentId: string | undefined, replaceFailed: boolean): Promise<ReconcileResult[]> {
    const { db } = this.ctx.store;
    const targets = await db.select({ d: deployments, s: services, v: versions, ring: rings.updatedAt, tenantState: tenants.state })
      .from(deployments)
      .innerJoin(tenants, eq(tenants.id, deployments.tenantId))
      .innerJoin(rings, and(eq(rings.deploymentId, deployments.id), eq(rings.name, 'production')))
      .innerJoin(versions, eq(versions.id, rings.activeVersionId))
      .innerJoin(services, and(eq(services.deploymentId, deployments.id), eq(services.type, 'web')))
      .where(and(isNull(deployments.deletedAt), eq(versions.kind, 'dynamic'), deploymentId ? eq(deployments.id, deploymentId) : undefined));
    const results: ReconcileResult[] = [];
    for (const { d, s, v, ring, tenantState } of targets) {
      // A suspended tenant's services run nothing until it is resumed; their counts are kept.
      const service = tenantState === 'suspended' ? { ...s, desiredReplicas: 0 } : s;
      try {
        await this.retireSuperseded(d.id, v.id, ring);
        results.push(await this.reconcileOne({ deploymentId: d.id, service, version: v, replaceFailed }));
      } catch (err) {
        results.push({ deploymentId: d.id, started: 0, stopped: 0, error: (err as Error).message });
      }
    }
    return results;
  }

  /**
   * Other versions' instances still meant to run, well after the last switch: left by a crash
   * between a promotion and the retirement of the old version. The grace keeps this from
   * racing a normal switch, whose old instances drain only once the edges serve the new one.
   */
  private async retireSuperseded(deploymentId: string, activeVersionId: string, switchedAt: Date): Promise<void> {
    if (Date.now() - switchedAt.getTime() < SUPERSEDED_GRACE_MS) return;
    const { db } = this.ctx.store;
    const stale = await db.select({ id: runtimeInstances.id }).from(runtimeInstances).where(and(
      eq(runtimeInstances.deploymentId, deploymentId), ne(runtimeInstances.versionId, activeVersionId),
      eq(runtimeInstances.desired, 'running'), eq(runtimeInstances.failFast, false),
      // Woken instances of an old version stop when idle (WakeService), not here.
      eq(runtimeInstances.onDemand, false),
    ));
    if (!stale.length) return;
    await this.instances.stop(db, { ids: stale.map((r) => r.id) }, 'superseded by the active version');
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
  }

  private async reconcileOne(target: ReconcileTarget): Promise<ReconcileResult> {
    const { deploymentId } = target;
    const result = await this.ctx.store.withLock(`reconcile:${deploymentId}`, () => this.ctx.store.db.transaction(async (tx) => {
      const scaled = await this.scale(tx, target);
      // Instances started or stopped change the upstreams: recorded last, with the change.
      if (scaled.started || scaled.stopped) await recordRouteChange(tx, deploymentId);
      return scaled;
    }));
    if (result.started || result.stopped) {
      this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
      this.ctx.notifier.emit('events', deploymentId);
      this.ctx.notifier.emit('route', deploymentId);
    }
    return result;
  }

  /** Starts or stops this version's replicas inside `tx` to match the service's count. */
  private async scale(tx: Tx, target: ReconcileTarget): Promise<ReconcileResult> {
    const { deploymentId, service, version, replaceFailed } = target;
    // Scaled up from zero: the live version's woken instances become replicas (as after a
    // rollback to a woken version) instead of serving beside them until idle, which traffic
    // to the live host would never let happen.
    if (service.desiredReplicas > 0) {
      await tx.update(runtimeInstances).set({ onDemand: false }).where(and(
        eq(runtimeInstances.versionId, version.id), eq(runtimeInstances.onDemand, true), eq(runtimeInstances.desired, 'running'),
        notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES]),
      ));
    }
    // Other on-demand instances (a service scaled to zero, woken) are not replicas: they stop when idle.
    const rows = await tx.select().from(runtimeInstances)
      .where(and(eq(runtimeInstances.versionId, version.id), eq(runtimeInstances.desired, 'running'), eq(runtimeInstances.onDemand, false)));
    const live = rows.filter((r) => !TERMINAL_INSTANCE_STATES.includes(r.state));
    const failed = replaceFailed ? 0 : rows.filter((r) => r.state === 'failed').length;
    const missing = service.desiredReplicas - live.length - failed;
    if (missing > 0) {
      await this.instances.create(tx, { version, service, count: missing, failFast: false, reason: `scaling to ${service.desiredReplicas} instance(s)` });
      return { deploymentId, started: missing, stopped: 0 };
    }
    const extra = live.length - service.desiredReplicas;
    if (extra > 0) {
      // Not-yet-healthy ones go first, then the newest: the oldest healthy ones keep serving.
      const order = [...live].sort((a, b) => Number(a.state === 'healthy') - Number(b.state === 'healthy') || b.id.localeCompare(a.id));
      const ids = order.slice(0, extra).map((r) => r.id);
      await this.instances.stop(tx, { ids }, `scaling to ${service.desiredReplicas} instance(s)`);
      await recordEvent(tx, {
        tenantId: service.tenantId, deploymentId, versionId: version.id, type: 'service.scaled_down', actor: 'system',
        reason: `stopping ${extra} instance(s) to match ${service.desiredReplicas} replica(s)`, data: { instances: ids },
      });
      return { deploymentId, started: 0, stopped: extra };
    }
    return { deploymentId, started: 0, stopped: 0 };
  }
}
