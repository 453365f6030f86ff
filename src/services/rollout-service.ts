import { and, eq, inArray, ne } from 'drizzle-orm';
import { ERROR_CODES, SlipwayError, type ErrorCode } from '../core/errors.js';
import type { RuntimeOptions } from '../core/runtime-options.js';
import { runtimeInstances, services, tenants, versions } from '../store/schema.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { ServiceContext } from './context.js';
import { recordEvent } from './event-log.js';
import { placementHost, type InstanceService } from './instance-service.js';
import type { RouteFeed } from './route-feed.js';
import { applyRuntimeOptions, type ServiceRow } from './service-config.js';

/** The version being booted. */
export interface BootTarget {
  id: string;
  tenantId: string;
  deploymentId: string;
  versionNumber: number;
}

/** Options for {@link RolloutService.boot}. */
export interface BootOptions {
  /** Settings the publish gave; applied to the service first. */
  runtime: RuntimeOptions;
  /** Receives progress notes (the build log of a publish). */
  onLog?: (line: string) => void;
  signal?: AbortSignal;
  actor: string;
  /**
   * Started by a request to a version with no instance (a wake): the instances stop again once
   * idle. Instances of a service scaled to zero are always on demand.
   */
  onDemand?: boolean;
  /** Why the instances start, for their events; default `rollout of version <N>`. */
  reason?: string;
  /** How many instances start; default the service's replicas (at least 1). A wake starts 1. */
  count?: number;
}

/** What {@link RolloutService.boot} started. */
export interface BootResult {
  service: ServiceRow;
  /** The instances this boot created (all healthy when it resolves). */
  instanceIds: string[];
}

/** Extra time over the health settings for an agent to fetch and unpack the release. */
const START_SLACK_MS = 60_000;

/**
 * Brings a version's instances up beside whatever serves now and waits until all of them pass
 * their health check. It never touches the active pointer: the caller promotes on success,
 * and on failure the new instances are stopped and production is as it was.
 */
export class RolloutService {
  /** One boot per version at a time: a wake and a rollback of it must not stop each other's instances. */
  readonly #boots = new KeyedMutex();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly instances: InstanceService,
    private readonly routes: RouteFeed,
  ) {}

  /**
   * Starts the service's replicas of `version` (or `options.count` instances); resolves when all
   * are healthy, or throws why not. Boots of the same version run one after another.
   */
  boot(version: BootTarget, options: BootOptions): Promise<BootResult> {
    return this.#boots.run(version.id, () => this.#boot(version, options));
  }

  /** Stops instances a boot started, when its caller gives up on them (a refused rollback). */
  async stopBooted(ids: readonly string[], reason: string): Promise<void> {
    if (ids.length === 0) return;
    if (await this.instances.stop(this.ctx.store.db, { ids: [...ids] }, reason) > 0) this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
  }

  async #boot(version: BootTarget, options: BootOptions): Promise<BootResult> {
    if (options.signal?.aborted) throw new SlipwayError('interrupted', 'the rollout was stopped because the server is shutting down');
    const log = options.onLog ?? (() => undefined);
    const { db } = this.ctx.store;
    const { service, ids } = await db.transaction(async (tx) => {
      // The version row is held (FOR SHARE) until the instances are in: garbage collection locks
      // it FOR UPDATE before it looks for live instances, so either it sees these instances and
      // keeps the release, or it collected first and this boot is refused here, never started
      // on a release being swept (docs/architecture.md §7).
      const [row] = await tx.select({ collectedAt: versions.artifactCollectedAt }).from(versions).where(eq(versions.id, version.id)).for('share');
      if (row?.collectedAt != null) {
        throw new SlipwayError('release_collected', `version ${version.versionNumber}'s release was deleted by garbage collection (retention); redeploy it to build it again from its snapshot`, {
          details: { version_number: version.versionNumber },
        });
      }
      // The tenant row is held (FOR SHARE) too: a suspension updates it, so it either waits for
      // this boot to commit and then stops these instances, or commits first and is seen here.
      const [tenant] = await tx.select({ state: tenants.state }).from(tenants).where(eq(tenants.id, version.tenantId)).for('share');
      if (tenant?.state === 'suspended') {
        throw new SlipwayError('tenant_suspended', `the tenant is suspended: version ${version.versionNumber} does not start until it is resumed`, {
          details: { tenant: version.tenantId, version_number: version.versionNumber },
        });
      }
      const service = await applyRuntimeOptions(tx, { id: version.deploymentId, tenantId: version.tenantId }, options.runtime);
      // Left-overs of an interrupted attempt at this same version are replaced, not reused. Woken
      // instances are not left-overs: they serve requests and stop when idle (WakeService).
      const leftovers = await tx.select({ id: runtimeInstances.id }).from(runtimeInstances).where(and(
        eq(runtimeInstances.versionId, version.id), eq(runtimeInstances.desired, 'running'), eq(runtimeInstances.onDemand, false),
      ));
      if (leftovers.length > 0) await this.instances.stop(tx, { ids: leftovers.map((r) => r.id) }, 'replaced by a new rollout attempt');
      const count = options.count ?? Math.max(service.desiredReplicas, 1);
      const reason = options.reason ?? `rollout of version ${version.versionNumber}`;
      const ids = await this.instances.create(tx, { version, service, count, failFast: true, reason });
      // With no replicas wanted, whatever boots serves until idle, like a woken version.
      const onDemand = options.onDemand === true || service.desiredReplicas === 0;
      if (onDemand) await tx.update(runtimeInstances).set({ onDemand: true }).where(inArray(runtimeInstances.id, ids));
      await recordEvent(tx, {
        tenantId: version.tenantId, deploymentId: version.deploymentId, versionId: version.id, type: 'rollout.deploying', actor: options.actor,
        reason: `starting ${count} instance${count === 1 ? '' : 's'} of version ${version.versionNumber}${options.reason ? ` (${options.reason})` : ''}`,
        data: { instances: ids, on_demand: onDemand },
      });
      return { service, ids };
    });
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    this.ctx.notifier.emit('events', version.deploymentId);
    log(`[slipway] starting ${ids.length} instance(s); health check GET ${service.health.path} every ${service.health.interval_ms} ms, grace ${service.health.grace_period_ms} ms`);

    const h = service.health;
    const deadline = Date.now() + h.grace_period_ms + (h.unhealthy_threshold + h.healthy_threshold + 2) * (h.interval_ms + h.timeout_ms) + START_SLACK_MS;
    const seen = new Map<string, string>();
    try {
      for (;;) {
        if (options.signal?.aborted) throw new SlipwayError('interrupted', 'the rollout was stopped because the server is shutting down');
        const rows = (await this.instances.ofVersion(db, version.id)).filter((r) => ids.includes(r.id));
        for (const r of rows) {
          if (seen.get(r.id) !== r.state) log(`[slipway] instance ${r.id}: ${r.state}${r.reason ? ` (${r.reason})` : ''}`);
          seen.set(r.id, r.state);
        }
        const failed = rows.find((r) => r.state === 'failed' || r.state === 'stopped');
        if (failed) {
          if (failed.logTail) log(`[slipway] last output of ${failed.id}:\n${failed.logTail}`);
          throw new SlipwayError(failureCode(failed.reasonCode), `version ${version.versionNumber} did not become healthy: ${failed.reason}`, {
            details: { runtime_instance_id: failed.id, reason_code: failed.reasonCode },
          });
        }
        if (rows.length === ids.length && rows.every((r) => r.state === 'healthy')) return { service, instanceIds: ids };
        const left = deadline - Date.now();
        if (left <= 0) {
          const states = rows.map((r) => r.state).join(', ');
          throw new SlipwayError('rollout_timeout', `version ${version.versionNumber} did not become healthy in time (instances: ${states || 'none'}); is the agent running?`, {
            details: { states: rows.map((r) => ({ id: r.id, state: r.state, reason: r.reason })) },
          });
        }
        await this.ctx.notifier.waitFor('instance', (d) => d === version.deploymentId, Math.min(left, 1000));
      }
    } catch (err) {
      // Only this call's instances: another boot's (a wake, a rollback) are not ours to stop.
      await this.instances.stop(db, { ids }, 'the rollout failed');
      this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
      throw err;
    }
  }

  /** True when the version has a healthy instance meant to run (a rollback is then a pointer move). */
  async isWarm(versionId: string): Promise<boolean> {
    const rows = await this.instances.ofVersion(this.ctx.store.db, versionId);
    return rows.some((r) => r.state === 'healthy' && r.desired === 'running');
  }

  /**
   * After a promotion: once every edge serves the new version, the other versions' instances
   * are told to drain and stop, and new instances stop being fail-fast.
   */
  async retireOthers(deploymentId: string, activeVersionId: string): Promise<void> {
    // An edge that is slow or gone must not keep old instances forever: wait a bounded time.
    await this.routes.waitForEdges(await this.routes.settledRevision(), 10_000);
    const { db } = this.ctx.store;
    // Instances woken by requests to other versions serve those requests until idle (WakeService).
    const superseded = await db.select({ id: runtimeInstances.id }).from(runtimeInstances).where(and(
      eq(runtimeInstances.deploymentId, deploymentId), ne(runtimeInstances.versionId, activeVersionId),
      eq(runtimeInstances.desired, 'running'), eq(runtimeInstances.onDemand, false),
    ));
    const n = await this.instances.stop(db, { ids: superseded.map((r) => r.id) }, 'superseded by the active version');
    await this.instances.settle(activeVersionId);
    // A woken version that becomes active (a rollback to it) keeps its instances as replicas,
    // unless the service is scaled to zero: then they still stop when idle.
    const [web] = await db.select({ replicas: services.desiredReplicas }).from(services)
      .where(and(eq(services.deploymentId, deploymentId), eq(services.type, 'web')));
    if (web && web.replicas > 0) {
      await db.update(runtimeInstances).set({ onDemand: false })
        .where(and(eq(runtimeInstances.versionId, activeVersionId), eq(runtimeInstances.onDemand, true)));
    }
    if (n > 0) this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
  }
}

/** The version error code for an instance failure's reason code. */
// Reasons that name why an instance could not start at all (no container engine on the agent,
// a release blob that does not hold its image, a host that cannot isolate): the version fails
// with that code, not with a health check that never ran.
const START_FAILURE_CODES: ReadonlySet<string> = new Set(['unavailable', 'invalid_archive', 'isolation_unavailable']);

/** The error a rollout fails with, from the reason code of the instance that failed it. */
export function failureCode(reasonCode: string | null): ErrorCode {
  if (reasonCode !== null && START_FAILURE_CODES.has(reasonCode)) return reasonCode as ErrorCode;
  const code = `instance_${reasonCode ?? ''}`;
  return (ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'health_check_failed';
}
