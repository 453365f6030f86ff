import { and, eq, inArray, isNull, notInArray } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { TERMINAL_INSTANCE_STATES } from '../core/runtime.js';
import { deployments, rings, runtimeInstances, services, tenants, versions } from '../store/schema.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { ServiceContext } from './context.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import { placementHost, type InstanceService } from './instance-service.js';
import type { RolloutService } from './rollout-service.js';
import { WakeRegistry } from './wake-registry.js';

/** What a wake request gets; the edge answers its client from it. */
export interface WakeAnswer {
  /**
   * `starting`: instances are on their way (the route gets them once healthy). `failed`: the
   * version's last wake failed, or its woken instance is in a crash loop, and is not retried yet.
   * `unavailable`: not this service's to start (the active version of a service with replicas:
   * the reconciler brings them back), the deployment's on-demand versions are all booting at
   * the cap, or the server is shutting down.
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
  /**
   * Most versions of one deployment besides the live one running on demand at once
   * (SLIPWAY_WAKE_MAX_VERSIONS); a wake past it stops the least recently used one. Default 3.
   */
  maxVersions?: number;
  /** How long a failed wake answers `failed` before a request may try again; default 60 s. */
  failureHoldMs?: number;
  /** The idle clock; tests pass their own. */
  now?: () => number;
}

/** SLIPWAY_WAKE_IDLE_MS when unset: 10 minutes. */
export const DEFAULT_WAKE_IDLE_MS = 600_000;
/** SLIPWAY_WAKE_MAX_VERSIONS when unset. */
export const DEFAULT_WAKE_MAX_VERSIONS = 3;
/** How soon a client is told to ask again while instances start. */
const STARTING_RETRY_S = 2;
const DEFAULT_FAILURE_HOLD_MS = 60_000;
/**
 * A woken instance restarted this often and not healthy is in a crash loop: its wake is
 * answered `failed`, so the self-reloading starting page does not wait on it forever.
 */
const CRASH_LOOP_RESTARTS = 3;
const LIVE = notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES]);
const UNAVAILABLE: WakeAnswer = { state: 'unavailable', retry_after_s: STARTING_RETRY_S };
const STARTING: WakeAnswer = { state: 'starting', retry_after_s: STARTING_RETRY_S };

/**
 * Every version stays reachable: a request to a dynamic version with no instance (a preview
 * host of an old version, or the live host of a service scaled to zero) wakes one instance of
 * it through the same start path as a rollout, without touching which version is live;
 * instances started so stop again after an idle time with no request, which the edges report.
 * Since anyone can ask for any version, at most `maxVersions` of a deployment run so at once.
 */
export class WakeService {
  readonly #registry: WakeRegistry;
  readonly #abort = new AbortController();
  /** Serialises a deployment's cap check with the start of its boot. */
  readonly #capLock = new KeyedMutex();
  readonly #maxVersions: number;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly deps: { instances: InstanceService; rollouts: RolloutService },
    private readonly options: WakeServiceOptions,
  ) {
    this.#registry = new WakeRegistry({ idleMs: options.idleMs, failureHoldMs: options.failureHoldMs ?? DEFAULT_FAILURE_HOLD_MS, now: options.now });
    this.#maxVersions = Math.max(options.maxVersions ?? DEFAULT_WAKE_MAX_VERSIONS, 1);
  }

  /** Starts the idle sweeps. */
  start(): void {
    const every = Math.min(Math.max(Math.floor(this.options.idleMs / 4), 250), 5_000);
    this.#timer = setInterval(() => {
      this.#sweeping = this.#sweeping.then(() => this.sweep()).catch((err) => this.ctx.logger.warn({ err }, 'idle sweep failed'));
    }, every);
    this.#timer.unref();
  }

  /**
   * Stops sweeping and the boots under way (their instances are stopped by the rollout); wakes
   * asked from now on are answered `unavailable`.
   */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#abort.abort();
    await Promise.all([this.#sweeping, this.#registry.settled()]);
  }

  /**
   * Boots one instance of version `versionNumber` of a deployment unless it has instances, is
   * booting already, or failed a moment ago. Answers at once; the boot goes on in the
   * background. A wake is not a use: only requests the edges report as served keep a woken
   * version up, so a client reloading a starting page does not keep a broken one alive.
   */
  async wake(deploymentId: string, versionNumber: number): Promise<WakeAnswer> {
    if (this.#abort.signal.aborted) return UNAVAILABLE;
    const { db } = this.ctx.store;
    const [row] = await db.select({ v: versions, replicas: services.desiredReplicas, active: rings.activeVersionId, tenantState: tenants.state })
      .from(versions)
      .innerJoin(deployments, eq(deployments.id, versions.deploymentId))
      .innerJoin(tenants, eq(tenants.id, deployments.tenantId))
      .innerJoin(services, and(eq(services.deploymentId, versions.deploymentId), eq(services.type, 'web')))
      .leftJoin(rings, and(eq(rings.deploymentId, versions.deploymentId), eq(rings.name, 'production')))
      .where(and(eq(versions.deploymentId, deploymentId), eq(versions.versionNumber, versionNumber), isNull(deployments.deletedAt)));
    if (!row || row.v.kind !== 'dynamic' || row.v.state !== 'ready') {
      throw new SlipwayError('version_not_found', `no ready dynamic version ${versionNumber} of ${deploymentId}`);
    }
    if (row.v.artifactCollectedAt !== null) {
      // Nothing left to boot: the edge answers its plain 404, as for a version that never was.
      // A collection after this check is caught by the boot, which re-checks under the version's
      // row lock before it inserts instances (RolloutService.boot), so it starts nothing.
      throw new SlipwayError('version_not_found', `version ${versionNumber} of ${deploymentId} has no release any more (garbage collection); redeploy it`, {
        details: { version_number: versionNumber, artifact_collected: true },
      });
    }
    // A suspended tenant's apps start nothing: the edge serves its suspension page instead.
    if (row.tenantState === 'suspended') return UNAVAILABLE;
    const version = row.v;
    if (this.#registry.isBooting(version.id)) return STARTING;
    const running = await db.select().from(runtimeInstances)
      .where(and(eq(runtimeInstances.versionId, version.id), eq(runtimeInstances.desired, 'running')));
    const live = running.filter((r) => !TERMINAL_INSTANCE_STATES.includes(r.state));
    const looping = live.find((r) => r.onDemand && r.state !== 'healthy' && r.restartCount >= CRASH_LOOP_RESTARTS);
    if (looping) return this.#failed(`the app keeps crashing (restarted ${looping.restartCount} times): ${looping.reason}`);
    if (live.length > 0) return STARTING;
    // The live version of a service with replicas is the reconciler's to restart.
    if (row.active === version.id && row.replicas > 0) return UNAVAILABLE;
    const crashed = running.filter((r) => r.onDemand && r.state === 'failed');
    if (crashed.length > 0) {
      // Spent its crash-loop budget after it booted: a wake failure, held like one.
      // Not through InstanceService.stop, which leaves terminal instances alone.
      await db.update(runtimeInstances).set({ desired: 'stopped', reason: 'its wake failed: the app kept crashing', updatedAt: new Date() })
        .where(inArray(runtimeInstances.id, crashed.map((r) => r.id)));
      const why = `the app kept crashing: ${crashed[0]!.reason}`;
      this.#registry.fail(version.id, why);
      await recordEvent(db, {
        tenantId: version.tenantId, deploymentId, versionId: version.id, type: 'version.wake_failed', actor: 'system',
        reason: why, data: { code: 'instance_exited', instances: crashed.map((r) => r.id) },
      });
      this.ctx.notifier.emit('events', deploymentId);
    }
    const reason = this.#registry.failure(version.id);
    if (reason !== undefined) return this.#failed(reason);
    return this.#capLock.run(deploymentId, async () => {
      if (this.#abort.signal.aborted) return UNAVAILABLE;
      if (this.#registry.isBooting(version.id)) return STARTING;
      if (row.active !== version.id && !(await this.#makeRoom(deploymentId, row.active, version.id))) return UNAVAILABLE;
      this.#registry.start(version.id, () => this.#boot(version), deploymentId);
      return STARTING;
    });
  }

  /** Records requests the edges served to these versions (reported in batches). */
  touch(versionIds: readonly string[]): void {
    for (const id of versionIds) this.#registry.touch(id);
  }

  /** Stops on-demand instances of versions idle for the idle time; returns how many. */
  async sweep(): Promise<number> {
    const rows = await this.#onDemand();
    this.#registry.prune(new Set(rows.map((r) => r.versionId)));
    const idle = rows.filter((r) => this.#registry.isIdle(r.versionId));
    const seconds = Math.round(this.options.idleMs / 1000);
    return this.#stopVersions(idle, {
      instance: `idle: no request for ${seconds} s`,
      event: (n) => `no request for ${seconds} s: stopping ${n} instance(s); the next request starts it again`,
    });
  }

  /** Live on-demand instances meant to run (of one deployment, or all). */
  #onDemand(deploymentId?: string) {
    return this.ctx.store.db.select({
      id: runtimeInstances.id, versionId: runtimeInstances.versionId, deploymentId: runtimeInstances.deploymentId,
      tenantId: runtimeInstances.tenantId, failFast: runtimeInstances.failFast,
    }).from(runtimeInstances).where(and(
      eq(runtimeInstances.onDemand, true), eq(runtimeInstances.desired, 'running'), LIVE,
      deploymentId ? eq(runtimeInstances.deploymentId, deploymentId) : undefined,
    ));
  }

  /**
   * Before waking `versionId`: if the deployment already runs `maxVersions` versions on demand
   * (the live one aside), stops the least recently used ones. False when there is no room
   * because the others are all still booting (or in a publish's health check).
   */
  async #makeRoom(deploymentId: string, activeId: string | null, versionId: string): Promise<boolean> {
    const rows = (await this.#onDemand(deploymentId)).filter((r) => r.versionId !== activeId && r.versionId !== versionId);
    // Fail-fast instances are still in a boot: a wake's (counted through the registry) or a publish's.
    const woken = new Set(rows.filter((r) => !r.failFast).map((r) => r.versionId));
    const booting = this.#registry.bootingIn(deploymentId).filter((id) => id !== activeId && id !== versionId);
    const excess = new Set([...woken, ...booting]).size + 1 - this.#maxVersions;
    if (excess <= 0) return true;
    const evictable = [...woken].filter((id) => !this.#registry.isBooting(id))
      .sort((a, b) => this.#registry.lastUsed(a) - this.#registry.lastUsed(b));
    if (evictable.length < excess) return false;
    const evicted = new Set(evictable.slice(0, excess));
    await this.#stopVersions(rows.filter((r) => evicted.has(r.versionId)), {
      instance: `stopped to wake another version: at most ${this.#maxVersions} run on demand`,
      event: (n) => `stopping ${n} instance(s) to wake another version (at most ${this.#maxVersions} versions run on demand, the least recently used stops); the next request starts it again`,
    });
    return true;
  }

  /** Stops these on-demand instances with a `version.idle_stopped` event per version; returns how many. */
  async #stopVersions(
    rows: { id: string; versionId: string; deploymentId: string; tenantId: string }[],
    reason: { instance: string; event: (instances: number) => string },
  ): Promise<number> {
    if (rows.length === 0) return 0;
    const versionIds = new Set(rows.map((r) => r.versionId));
    const stopped = await this.ctx.store.db.transaction(async (tx) => {
      const n = await this.deps.instances.stop(tx, { ids: rows.map((r) => r.id) }, reason.instance);
      for (const versionId of versionIds) {
        const mine = rows.filter((r) => r.versionId === versionId);
        const first = mine[0]!;
        await recordEvent(tx, {
          tenantId: first.tenantId, deploymentId: first.deploymentId, versionId, type: 'version.idle_stopped', actor: 'system',
          reason: reason.event(mine.length), data: { instances: mine.map((r) => r.id) },
        });
      }
      for (const deploymentId of new Set(rows.map((r) => r.deploymentId))) await recordRouteChange(tx, deploymentId);
      return n;
    });
    for (const versionId of versionIds) this.#registry.forget(versionId);
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    for (const deploymentId of new Set(rows.map((r) => r.deploymentId))) {
      this.ctx.notifier.emit('route', deploymentId);
      this.ctx.notifier.emit('events', deploymentId);
    }
    return stopped;
  }

  #failed(reason: string): WakeAnswer {
    return { state: 'failed', retry_after_s: Math.ceil((this.options.failureHoldMs ?? DEFAULT_FAILURE_HOLD_MS) / 1000), reason };
  }

  async #boot(version: typeof versions.$inferSelect): Promise<void> {
    try {
      await this.deps.rollouts.boot(version, {
        runtime: {}, actor: 'system', onDemand: true, count: 1, reason: `woken by a request to version ${version.versionNumber}`, signal: this.#abort.signal,
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
