import { randomUUID } from 'node:crypto';
import { and, eq, inArray, ne, notInArray } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { TERMINAL_INSTANCE_STATES, type InstanceAssignment, type InstanceReport, type InstanceState } from '../core/runtime.js';
import { deployments, rings, runtimeInstances, services, versions } from '../store/schema.js';
import type { Db, Tx } from '../store/store.js';
import { SYSTEM_PATH_DIRS, withPythonShim } from '../util/python-shim.js';
import type { ServiceContext } from './context.js';
import type { EnvService } from './env-service.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import { formatInstanceLabel, labelInstance } from './instance-label.js';
import { publicUrl } from './presenters.js';
import type { ServiceRow } from './service-config.js';

/** A row of `runtime_instances`. */
export type InstanceRow = typeof runtimeInstances.$inferSelect;

/** The host instances are placed on when the server names none (SLIPWAY_HOST_ID unset). */
export const LOCAL_HOST_ID = 'local';

/** The host this server places instances on and whose agent it tells about changes. */
export function placementHost(config: ServiceContext['config']): string {
  return config.hostId ?? LOCAL_HOST_ID;
}

/**
 * An instance's `PATH`: system runtimes only (the sandbox shows /usr and /bin, nothing of
 * Slipway's own PATH), plus the `python` shim on hosts with only `python3`.
 */
const INSTANCE_PATH = withPythonShim(SYSTEM_PATH_DIRS);

const LIVE = notInArray(runtimeInstances.state, [...TERMINAL_INSTANCE_STATES]);

/**
 * Runtime instances as the control plane sees them: created here (desired state), run by an
 * agent, which reports back what actually happens. Agents learn their work through
 * {@link assignments} (long-polled); every reported state change is an event.
 */
export class InstanceService {
  /** Bumped on every change of any host's assignments; `epoch` tells a restarted server apart. */
  private revision = 0;
  private readonly epoch = randomUUID().slice(0, 8);

  constructor(private readonly ctx: ServiceContext, private readonly env: EnvService) {
    ctx.notifier.on('assignments', () => this.revision++);
    // Assignment changes announced while this server was not hearing the others were lost:
    // a new revision makes every agent re-read its assignments from the store.
    ctx.notifier.on('resync', () => this.revision++);
  }

  /** The current assignment revision, `epoch:n`. */
  get currentRevision(): string {
    return `${this.epoch}:${this.revision}`;
  }

  /**
   * Waits until the revision differs from `seen`, `timeoutMs` passes or `signal` aborts (the API
   * closing: a long poll must not hold a shutdown); returns the revision.
   */
  async waitForChange(seen: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<string> {
    if (seen !== this.currentRevision || signal?.aborted) return this.currentRevision;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const offs = [this.ctx.notifier.on('assignments', done), this.ctx.notifier.on('resync', done)];
      signal?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        for (const off of offs) off();
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
    return this.currentRevision;
  }

  /** Inserts `count` pending instances of a version (inside the caller's transaction). */
  async create(tx: Tx, input: { version: { id: string; tenantId: string; deploymentId: string }; service: ServiceRow; count: number; failFast: boolean; reason: string }): Promise<string[]> {
    const now = new Date();
    const ids: string[] = [];
    for (let i = 0; i < input.count; i++) {
      const id = newId('rti');
      ids.push(id);
      await tx.insert(runtimeInstances).values({
        id, tenantId: input.version.tenantId, deploymentId: input.version.deploymentId, serviceId: input.service.id,
        versionId: input.version.id, hostId: placementHost(this.ctx.config), desired: 'running', state: 'pending', reason: input.reason,
        restartCount: 0, failFast: input.failFast, createdAt: now, updatedAt: now,
      });
      const label = formatInstanceLabel(id, { replica: i + 1, replicas: input.count, address: null });
      await recordEvent(tx, {
        tenantId: input.version.tenantId, deploymentId: input.version.deploymentId, versionId: input.version.id,
        type: 'instance.pending', actor: 'system', reason: `${label.text}: ${input.reason}`,
        data: { runtime_instance_id: id, service_id: input.service.id, replica: label.replica, replicas: label.replicas },
      });
    }
    return ids;
  }

  /** Asks the agents to stop instances (drain first); returns how many were live. */
  async stop(tx: Tx | Db, where: { ids?: string[]; deploymentId?: string; exceptVersionId?: string; versionId?: string }, reason: string): Promise<number> {
    const conds = [LIVE, eq(runtimeInstances.desired, 'running')];
    if (where.ids) conds.push(inArray(runtimeInstances.id, where.ids.length ? where.ids : ['']));
    if (where.deploymentId) conds.push(eq(runtimeInstances.deploymentId, where.deploymentId));
    if (where.versionId) conds.push(eq(runtimeInstances.versionId, where.versionId));
    if (where.exceptVersionId) conds.push(ne(runtimeInstances.versionId, where.exceptVersionId));
    const rows = await tx.update(runtimeInstances).set({ desired: 'stopped', reason, updatedAt: new Date() })
      .where(and(...conds)).returning({ id: runtimeInstances.id });
    return rows.length;
  }

  /** A promoted version's instances restart on exit from now on, instead of failing. */
  async settle(versionId: string): Promise<void> {
    await this.ctx.store.db.update(runtimeInstances).set({ failFast: false })
      .where(and(eq(runtimeInstances.versionId, versionId), eq(runtimeInstances.failFast, true)));
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
  }

  /**
   * At server start: instances of a rollout that no server is waiting for any more (a cold
   * rollback interrupted by a crash) are stopped. Those of versions still `building` are left
   * to the build worker, which resumes their rollout.
   */
  async stopOrphanedRollouts(): Promise<number> {
    const db = this.ctx.store.db;
    const rows = await db.select({ id: runtimeInstances.id, versionId: runtimeInstances.versionId, active: rings.activeVersionId })
      .from(runtimeInstances)
      .innerJoin(versions, eq(versions.id, runtimeInstances.versionId))
      .leftJoin(rings, and(eq(rings.deploymentId, runtimeInstances.deploymentId), eq(rings.name, 'production')))
      .where(and(LIVE, eq(runtimeInstances.desired, 'running'), eq(runtimeInstances.failFast, true), ne(versions.state, 'building')));
    // Promoted before the crash, but not yet settled: these serve production and must restart on exit.
    for (const versionId of new Set(rows.filter((r) => r.active === r.versionId).map((r) => r.versionId))) await this.settle(versionId);
    const orphans = rows.filter((r) => r.active !== r.versionId).map((r) => r.id);
    const n = orphans.length ? await this.stop(db, { ids: orphans }, 'its rollout was interrupted by a server restart') : 0;
    if (n) this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    return n;
  }

  /** Instance rows of a version. */
  ofVersion(db: Db | Tx, versionId: string): Promise<InstanceRow[]> {
    return db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, versionId));
  }

  /** What a host must run (or stop): every live instance assigned to it. */
  async assignments(hostId: string): Promise<InstanceAssignment[]> {
    const db = this.ctx.store.db;
    const rows = await db.select({ i: runtimeInstances, v: versions, s: services, d: deployments })
      .from(runtimeInstances)
      .innerJoin(versions, eq(versions.id, runtimeInstances.versionId))
      .innerJoin(services, eq(services.id, runtimeInstances.serviceId))
      .innerJoin(deployments, eq(deployments.id, runtimeInstances.deploymentId))
      .where(and(eq(runtimeInstances.hostId, hostId), LIVE));
    return rows.flatMap(({ i, v, s, d }) => {
      const manifest = v.releaseManifest;
      if (!manifest || !v.artifactSha256) return [];
      let own: Record<string, string>;
      try {
        own = this.env.open(d.id, v.env).values;
      } catch (err) {
        // Unreachable with a checked key (the server refuses to start on a mismatch); a damaged
        // seal leaves this one instance out, so its agent stops it, and says why here.
        this.ctx.logger.error({ err, versionId: v.id }, 'cannot open the environment of a version');
        return [];
      }
      const env: Record<string, string> = {
        PATH: INSTANCE_PATH,
        NODE_ENV: 'production',
        // The deployment's own variables may replace the two defaults above, never what follows.
        ...own,
        PORT: String(manifest.port),
        SLIPWAY_DEPLOYMENT_ID: d.id,
        SLIPWAY_SLUG: d.slug,
        SLIPWAY_SERVICE_ID: s.id,
        SLIPWAY_VERSION_ID: v.id,
        SLIPWAY_VERSION_NUMBER: String(v.versionNumber),
        SLIPWAY_RUNTIME_INSTANCE_ID: i.id,
        SLIPWAY_HOST_ID: hostId,
        SLIPWAY_PUBLIC_URL: publicUrl(this.ctx.config, d.slug),
      };
      return [{
        runtime_instance_id: i.id, deployment_id: d.id, service_id: s.id, version_id: v.id, version_number: v.versionNumber,
        slug: d.slug, artifact_sha256: v.artifactSha256, image: manifest.image ?? null, run_command: manifest.run_command, port: manifest.port, env,
        health: s.health, resources: s.resources, crash_loop_budget: s.crashLoopBudget, desired: i.desired,
        drain_timeout_ms: s.drainTimeoutMs, fail_fast: i.failFast, restart_count: i.restartCount,
      }];
    });
  }

  /**
   * Applies an agent's report. A change of state is recorded as an event; a change in which
   * instances are healthy updates the route. Reports for unknown or finished instances are
   * refused with `instance_not_found`, which tells the agent to stop and forget them.
   */
  async report(hostId: string, report: InstanceReport): Promise<void> {
    const db = this.ctx.store.db;
    // An app's last output can show its secrets; mask them before the tail is kept anywhere.
    const logTail = report.log_tail ? await this.redactTail(report.runtime_instance_id, report.log_tail) : undefined;
    const changed = await db.transaction(async (tx) => {
      const [row] = await tx.select().from(runtimeInstances)
        .where(and(eq(runtimeInstances.id, report.runtime_instance_id), eq(runtimeInstances.hostId, hostId))).for('update');
      if (!row || TERMINAL_INSTANCE_STATES.includes(row.state)) {
        throw new SlipwayError('instance_not_found', `no live instance ${report.runtime_instance_id} on host ${hostId}`);
      }
      const unenforcedLimits = report.unenforced_limits ?? null;
      const same = row.state === report.state && row.address === report.address && row.restartCount === report.restart_count
        && row.unenforcedLimits === unenforcedLimits;
      if (same) return null;
      await tx.update(runtimeInstances).set({
        state: report.state, address: report.address, reason: report.reason, reasonCode: report.reason_code,
        restartCount: report.restart_count, logTail: logTail ?? row.logTail, unenforcedLimits, updatedAt: new Date(),
      }).where(eq(runtimeInstances.id, row.id));
      if (row.state !== report.state || row.restartCount !== report.restart_count) {
        // Which replica, by id and address (its last known one once it has gone), so the events
        // of a multi-instance service say which instance crashed, restarted or was removed.
        const label = await labelInstance(tx, row, report.address ?? row.address);
        await recordEvent(tx, {
          tenantId: row.tenantId, deploymentId: row.deploymentId, versionId: row.versionId, type: `instance.${report.state}`,
          actor: `host:${hostId}`, reason: `${label.text}: ${report.reason}`,
          data: {
            runtime_instance_id: row.id, service_id: row.serviceId, replica: label.replica, replicas: label.replicas, address: label.address,
            from: row.state, code: report.reason_code, restart_count: report.restart_count,
          },
        });
      }
      const wasHealthy = row.state === 'healthy';
      const isHealthy = report.state === 'healthy';
      // Which instances are healthy (and where) is what the edge routes to.
      const routed = wasHealthy !== isHealthy || isHealthy;
      if (routed) await recordRouteChange(tx, row.deploymentId);
      return { row, routed };
    });
    if (!changed) return;
    const { row } = changed;
    if (changed.routed) this.ctx.notifier.emit('route', row.deploymentId);
    if (TERMINAL_INSTANCE_STATES.includes(report.state)) this.ctx.notifier.emit('assignments', hostId);
    this.ctx.notifier.emit('instance', row.deploymentId);
    this.ctx.notifier.emit('events', row.deploymentId);
  }

  private async redactTail(instanceId: string, tail: string): Promise<string> {
    const db = this.ctx.store.db;
    const [row] = await db.select({ versionId: runtimeInstances.versionId }).from(runtimeInstances).where(eq(runtimeInstances.id, instanceId));
    return row ? (await this.env.maskerOfVersion(db, row.versionId))(tail) : tail;
  }
}

/** True when `state` is one an instance never leaves. */
export function isTerminal(state: InstanceState): boolean {
  return TERMINAL_INSTANCE_STATES.includes(state);
}
