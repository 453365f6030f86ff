import { asc, gt, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../store/store.js';
import { routeChanges, routeRevision } from '../store/schema.js';

/** Changes kept in `route_changes`; a server further behind than this sends a snapshot. */
export const ROUTE_CHANGES_KEPT = 1000;

/**
 * Appends a route change inside `tx`, the transaction that makes the routing change, and returns
 * its revision. Recording in the same transaction means a change that commits is never lost to
 * the other servers, whatever happens before the notification goes out (docs/architecture.md §7).
 * Call it as the last statement before the commit: the counter row's lock is held until then,
 * which serializes every routing change, and also makes revisions visible in order (a reader that
 * sees revision N has every change below N, and never skips one that commits later).
 */
export async function recordRouteChange(tx: Tx, deploymentId: string): Promise<number> {
  const [row] = await tx.update(routeRevision).set({ revision: sql`${routeRevision.revision} + 1` })
    .returning({ revision: routeRevision.revision });
  const revision = Number(row!.revision);
  await tx.insert(routeChanges).values({ revision, deploymentId, createdAt: new Date() });
  // Pruning now and then keeps the table small without a sweeper of its own.
  if (revision % 100 === 0) await tx.delete(routeChanges).where(lte(routeChanges.revision, revision - ROUTE_CHANGES_KEPT));
  return revision;
}

/** The newest revision every server agrees on. */
export async function currentRouteRevision(db: Db): Promise<number> {
  const [row] = await db.select({ revision: routeRevision.revision }).from(routeRevision);
  return Number(row?.revision ?? 0);
}

/** Up to `limit` changes after `revision`, oldest first. */
export async function routeChangesAfter(db: Db, revision: number, limit: number): Promise<Array<{ revision: number; deploymentId: string }>> {
  const rows = await db.select({ revision: routeChanges.revision, deploymentId: routeChanges.deploymentId })
    .from(routeChanges).where(gt(routeChanges.revision, revision)).orderBy(asc(routeChanges.revision)).limit(limit);
  return rows.map((r) => ({ revision: Number(r.revision), deploymentId: r.deploymentId }));
}
