import { and, eq } from 'drizzle-orm';
import { newId } from '../core/ids.js';
import { DEFAULT_DRAIN_TIMEOUT_MS, type RuntimeOptions } from '../core/runtime-options.js';
import { DEFAULT_CRASH_LOOP_BUDGET, DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES } from '../core/runtime.js';
import { services } from '../store/schema.js';
import type { Db, Tx } from '../store/store.js';

/** A row of `services`. */
export type ServiceRow = typeof services.$inferSelect;

/** The deployment's `web` service, or undefined before its first dynamic rollout. */
export async function findWebService(db: Db | Tx, deploymentId: string): Promise<ServiceRow | undefined> {
  const [row] = await db.select().from(services).where(and(eq(services.deploymentId, deploymentId), eq(services.type, 'web')));
  return row;
}

/**
 * Creates the deployment's `web` service with defaults, or updates it, with the settings a
 * publish gave: what a publish leaves out keeps its current value.
 */
export async function applyRuntimeOptions(
  tx: Tx,
  dep: { id: string; tenantId: string },
  options: RuntimeOptions,
): Promise<ServiceRow> {
  const now = new Date();
  const current = await findWebService(tx, dep.id);
  const next = {
    desiredReplicas: options.replicas ?? current?.desiredReplicas ?? 1,
    health: { ...DEFAULT_HEALTH_CHECK, ...current?.health, ...options.health },
    resources: { ...DEFAULT_RESOURCES, ...current?.resources, ...options.resources },
    sticky: options.sticky !== undefined ? options.sticky : current?.sticky ?? null,
    crashLoopBudget: options.crash_loop_budget ?? current?.crashLoopBudget ?? DEFAULT_CRASH_LOOP_BUDGET,
    drainTimeoutMs: options.drain_timeout_ms ?? current?.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
    updatedAt: now,
  };
  if (current) {
    const [row] = await tx.update(services).set(next).where(eq(services.id, current.id)).returning();
    return row!;
  }
  const [row] = await tx.insert(services).values({
    id: newId('svc'), tenantId: dep.tenantId, deploymentId: dep.id, type: 'web', createdAt: now, ...next,
  }).returning();
  return row!;
}
