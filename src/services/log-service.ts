import { and, asc, desc, eq, gt, lt, sql, type SQL } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { deployments, instanceLogs, runtimeInstances, services } from '../store/schema.js';
import type { LogRetention, Principal, ServiceContext } from './context.js';
import { findDeployment } from './deployment-queries.js';
import type { EnvService } from './env-service.js';

type LogRow = typeof instanceLogs.$inferSelect;

/** One line of an instance's output, as the API shows it. */
export function presentLogLine(row: LogRow) {
  return {
    id: String(row.id),
    time: row.createdAt.toISOString(),
    deployment_id: row.deploymentId,
    service_id: row.serviceId,
    version_id: row.versionId,
    runtime_instance_id: row.runtimeInstanceId,
    host_id: row.hostId,
    line: row.line,
  };
}
export type LogLineView = ReturnType<typeof presentLogLine>;

/** Which lines: one deployment's, one service's or one instance's. */
export type LogScope = { deployment: string } | { serviceId: string } | { instanceId: string };

export const DEFAULT_LOG_RETENTION: LogRetention = { maxAgeMs: 7 * 24 * 3600_000, maxLinesPerDeployment: 100_000 };

/** Longest line kept; longer ones are cut with a marker (a runaway line must not fill the store). */
export const MAX_LOG_LINE = 16 * 1024;

/**
 * Instance output: agents append lines (`append`), users read the newest ones or follow new
 * ones (`read`, `waitForNew`). A sweep keeps them within the retention policy.
 */
export class LogService {
  constructor(
    private readonly ctx: ServiceContext,
    /** Masks the version's secrets in what an app prints. */
    private readonly env: EnvService,
    private readonly retention: LogRetention = DEFAULT_LOG_RETENTION,
  ) {}

  /** Stores lines an agent read from an instance's output. */
  async append(hostId: string, instanceId: string, lines: Array<{ time: string; line: string }>): Promise<number> {
    const db = this.ctx.store.db;
    const [inst] = await db.select().from(runtimeInstances)
      .where(and(eq(runtimeInstances.id, instanceId), eq(runtimeInstances.hostId, hostId)));
    if (!inst) throw new SlipwayError('instance_not_found', `no instance ${instanceId} on host ${hostId}`);
    if (lines.length === 0) return 0;
    const mask = await this.env.maskerOfVersion(db, inst.versionId);
    await db.insert(instanceLogs).values(lines.map((l) => ({
      tenantId: inst.tenantId, deploymentId: inst.deploymentId, serviceId: inst.serviceId, versionId: inst.versionId,
      runtimeInstanceId: inst.id, hostId, line: cut(mask(l.line)),
      createdAt: safeDate(l.time),
    })));
    this.ctx.notifier.emit('logs', inst.deploymentId);
    return lines.length;
  }

  /** Resolves a scope within the caller's tenant to a filter and its deployment id. */
  async resolve(principal: Principal, scope: LogScope): Promise<{ where: SQL; deploymentId: string }> {
    const db = this.ctx.store.db;
    if ('deployment' in scope) {
      const dep = await findDeployment(db, principal, scope.deployment);
      return { where: eq(instanceLogs.deploymentId, dep.id), deploymentId: dep.id };
    }
    const project = principal.projectId ? eq(deployments.projectId, principal.projectId) : undefined;
    if ('serviceId' in scope) {
      const [row] = await db.select({ d: services.deploymentId }).from(services).innerJoin(deployments, eq(deployments.id, services.deploymentId))
        .where(and(eq(services.id, scope.serviceId), eq(services.tenantId, principal.tenantId), project));
      if (!row) throw new SlipwayError('service_not_found', `no service "${scope.serviceId}"`);
      return { where: eq(instanceLogs.serviceId, scope.serviceId), deploymentId: row.d };
    }
    const [row] = await db.select({ d: runtimeInstances.deploymentId }).from(runtimeInstances).innerJoin(deployments, eq(deployments.id, runtimeInstances.deploymentId))
      .where(and(eq(runtimeInstances.id, scope.instanceId), eq(runtimeInstances.tenantId, principal.tenantId), project));
    if (!row) throw new SlipwayError('instance_not_found', `no runtime instance "${scope.instanceId}"`);
    return { where: eq(instanceLogs.runtimeInstanceId, scope.instanceId), deploymentId: row.d };
  }

  /** The newest `limit` lines (oldest first), or the lines after `afterId`. */
  async read(where: SQL, options: { limit: number; afterId?: number }): Promise<LogLineView[]> {
    const db = this.ctx.store.db;
    if (options.afterId !== undefined) {
      const rows = await db.select().from(instanceLogs).where(and(where, gt(instanceLogs.id, options.afterId)))
        .orderBy(asc(instanceLogs.id)).limit(options.limit);
      return rows.map(presentLogLine);
    }
    const rows = await db.select().from(instanceLogs).where(where).orderBy(desc(instanceLogs.id)).limit(options.limit);
    return rows.reverse().map(presentLogLine);
  }

  /** Resolves when lines may have arrived for the deployment, or after `timeoutMs`. */
  waitForNew(deploymentId: string, timeoutMs: number): Promise<boolean> {
    return this.ctx.notifier.waitFor('logs', (d) => d === deploymentId, timeoutMs);
  }

  /** Deletes lines past the retention policy; returns how many went. */
  async sweep(now = Date.now()): Promise<number> {
    const db = this.ctx.store.db;
    const old = await db.delete(instanceLogs).where(lt(instanceLogs.createdAt, new Date(now - this.retention.maxAgeMs))).returning({ id: instanceLogs.id });
    // Per deployment, everything below its N-th newest line goes.
    const over = await db.execute(sql`
      SELECT deployment_id, (SELECT id FROM instance_logs l2 WHERE l2.deployment_id = l.deployment_id ORDER BY id DESC OFFSET ${this.retention.maxLinesPerDeployment} LIMIT 1) AS cut
      FROM instance_logs l GROUP BY deployment_id HAVING count(*) > ${this.retention.maxLinesPerDeployment}`);
    let trimmed = 0;
    for (const r of rowsOf(over)) {
      const gone = await db.delete(instanceLogs)
        .where(and(eq(instanceLogs.deploymentId, String(r.deployment_id)), lt(instanceLogs.id, Number(r.cut) + 1))).returning({ id: instanceLogs.id });
      trimmed += gone.length;
    }
    return old.length + trimmed;
  }
}

function rowsOf(result: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(result)) return result as Array<Record<string, unknown>>;
  return ((result as { rows?: Array<Record<string, unknown>> }).rows) ?? [];
}

function safeDate(value: string): Date {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? new Date() : d;
}

function cut(line: string): string {
  return line.length > MAX_LOG_LINE ? `${line.slice(0, MAX_LOG_LINE)} …[cut]` : line;
}
