import { and, eq, isNull, notInArray } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { TERMINAL_INSTANCE_STATES } from '../core/runtime.js';
import { deployments, rings, runtimeInstances, services, versions } from '../store/schema.js';
import type { ServiceContext } from './context.js';
import { recordEvent } from './event-log.js';
import { LOCAL_HOST_ID, type InstanceService } from './instance-service.js';
import type { RolloutService } from './rollout-service.js';
import { WakeRegistry } from './wake-registry.js';

/** What a wake request gets; the edge answers its client from it. */
export interface WakeAnswer {
  /**
   * `starting`: instances are on their way (the route gets them once healthy). `failed`: the
   * version's last wake failed and is not retried yet. `unavailable`: not this service's to
   * start (the active version of a service with replicas: the reconciler brings them back).
   */
  state: 'starting' | 'failed' | 'unavailable';
  /** Seconds a client should wait before asking again. */
  retry_after_s: number;
  /** Why a wake failed (the version's failure message). */
  reason?: string;
}

/** Options for {@link WakeService}. */
export interface WakeServiceOptions {
  /** Woken instances with no request for this long stop (SLIPWAY_WAKE_IDLE_MS). */
  idleMs: number;
  /** How long a failed wake answers `failed` before a request may try again; default 60 s. */
  failureHoldMs?: number;
  /** The idle clock; tests pass their own. */
  now?: () => number;
}

/** How soon a client is told to ask again while instances start. */
/** SLIPWAY_WAKE_IDLE_MS when unset: 10 minutes. */
export const DEFAULT_WAKE_IDLE_MS = 600_000;
const STARTING_RETRY_S = 2;
/** Most version ids one usage report of an edge may carry. */
export const MAX_USAGE_REPORT = 1000;
const DEFAULT_FAILURE_HOLD_MS = 60_000;
const LIVE = notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES]);

/**
 * Every version stays reachable: a request to a dynamic version with no instance (a preview
 * host of an old version, or the live host of a service scaled to zero) wakes it through the
 * same start path as a rollout, without touching which version is live; instances started so
 * stop again after an idle time with no request, which the edges report.
 */
export class WakeService {
  readonly #registry: WakeRegistry;
  readonly #abort = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: { instances: InstanceService; rollouts: RolloutService },
    private readonly options: WakeServiceOptions,
  ) {
    this.#registry = new WakeRegistry({ idleMs: options.idleMs, failureHoldMs: options.failureHoldMs ?? DEFAULT_FAILURE_HOLD_MS, now: options.now });
  }

  /** Starts the idle sweeps. */
  start(): void {
    const every = Math.min(Math.max(Math.floor(this.options.idleMs / 4), 250), 5_000);
    this.#timer = setInterval(() => {
      this.#sweeping = this.#sweeping.then(() => this.sweep()).catch((err) => this.ctx.logger.warn({ err }, 'idle sweep failed'));
    }, every);
    this.#timer.unref();
  }

  /** Stops sweeping and the boots under way (their instances are stopped by the rollout). */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#abort.abort();
    await Promise.all([this.#sweeping, this.#registry.settled()]);
  }

  /**
   * Boots version `versionNumber` of a deployment unless it has instances, is booting already,
   * or failed a moment ago. Answers at once; the boot goes on in the background.
   */
  async wake(deploymentId: string, versionNumber: number): Promise<WakeAnswer> {
    const { db } = this.ctx.store;
    const [row] = await db.select({ v: versions, replicas: services.desiredReplicas, active: rings.activeVersionId })
      .from(versions)
      .innerJoin(deployments, eq(deployments.id, versions.deploymentId))
      .innerJoin(services, and(eq(services.deploymentId, versions.deploymentId), eq(services.type, 'web')))
      .leftJoin(rings, and(eq(rings.deploymentId, versions.deploymentId), eq(rings.name, 'production')))
      .where(and(eq(versions.deploymentId, deploymentId), eq(versions.versionNumber, versionNumber), isNull(deployments.deletedAt)));
    if (!row || row.v.kind !== 'dynamic' || row.v.state !== 'ready') {
      throw new SlipwayError('version_not_found', `no ready dynamic version ${versionNumber} of ${deploymentId}`);
    }
    const version = row.v;
    this.#registry.touch(version.id);
    const starting: WakeAnswer = { state: 'starting', retry_after_s: STARTING_RETRY_S };
    if (this.#registry.isBooting(version.id)) return starting;
    const live = await db.select({ id: runtimeInstances.id }).from(runtimeInstances)
      .where(and(eq(runtimeInstances.versionId, version.id), eq(runtimeInstances.desired, 'running'), LIVE));
    if (live.length > 0) return starting;
    // The live version of a service with replicas is the reconciler's to restart.
    if (row.active === version.id && row.replicas > 0) return { state: 'unavailable', retry_after_s: STARTING_RETRY_S };
    const reason = this.#registry.failure(version.id);
    if (reason !== undefined) return { state: 'failed', retry_after_s: Math.ceil((this.options.failureHoldMs ?? DEFAULT_FAILURE_HOLD_MS) / 1000), reason };
    this.#registry.start(version.id, () => this.#boot(version));
    return starting;
  }

  /** Records requests the edges served to these versions (reported in batches). */
  touch(versionIds: readonly string[]): void {
    for (const id of versionIds) this.#registry.touch(id);
  }

  /** Stops on-demand instances of versions idle for the idle time; returns how many. */
  async sweep(): Promise<number> {
    const { db } = this.ctx.store;
    const rows = await db.select({ id: runtimeInstances.id, versionId: runtimeInstances.versionId, deploymentId: runtimeInstances.deploymentId, tenantId: runtimeInstances.tenantId })
      .from(runtimeInstances)
      .where(and(eq(runtimeInstances.onDemand, true), eq(runtimeInstances.desired, 'running'), LIVE));
    this.#registry.prune(new Set(rows.map((r) => r.versionId)));
    const idle = rows.filter((r) => this.#registry.isIdle(r.versionId));
    if (idle.length === 0) return 0;
    const seconds = Math.round(this.options.idleMs / 1000);
    const stopped = await db.transaction(async (tx) => {
      const n = await this.deps.instances.stop(tx, { ids: idle.map((r) => r.id) }, `idle: no request for ${seconds} s`);
      for (const versionId of new Set(idle.map((r) => r.versionId))) {
        const mine = idle.filter((r) => r.versionId === versionId);
        const first = mine[0]!;
        await recordEvent(tx, {
          tenantId: first.tenantId, deploymentId: first.deploymentId, versionId, type: 'version.idle_stopped', actor: 'system',
          reason: `no request for ${seconds} s: stopping ${mine.length} instance(s); the next request starts it again`,
          data: { instances: mine.map((r) => r.id) },
        });
      }
      return n;
    });
    for (const versionId of new Set(idle.map((r) => r.versionId))) this.#registry.forget(versionId);
    this.ctx.notifier.emit('assignments', LOCAL_HOST_ID);
    for (const deploymentId of new Set(idle.map((r) => r.deploymentId))) {
      this.ctx.notifier.emit('route', deploymentId);
      this.ctx.notifier.emit('events', deploymentId);
    }
    return stopped;
  }

  async #boot(version: typeof versions.$inferSelect): Promise<void> {
    try {
      await this.deps.rollouts.boot(version, {
        runtime: {}, actor: 'system', onDemand: true, reason: `woken by a request to version ${version.versionNumber}`, signal: this.#abort.signal,
      });
      // Healthy now: from here a crash restarts the instance instead of failing the wake.
      await this.deps.instances.settle(version.id);
    } catch (err) {
      await recordEvent(this.ctx.store.db, {
        tenantId: version.tenantId, deploymentId: version.deploymentId, versionId: version.id, type: 'version.wake_failed', actor: 'system',
        reason: (err as Error).message, data: { code: err instanceof SlipwayError ? err.code : 'internal' },
      }).catch((e: unknown) => this.ctx.logger.warn({ err: e }, 'could not record a failed wake'));
      this.ctx.notifier.emit('events', version.deploymentId);
      throw err;
    }
  }
}
