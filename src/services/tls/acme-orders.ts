import { and, count, desc, eq, gte, lt } from 'drizzle-orm';
import { acmeOrders } from '../../store/schema.js';
import type { Db, Store, Tx } from '../../store/store.js';

/** Orders placed per rolling hour, counted in the store so they hold across servers and restarts. */
export interface AcmeLimits {
  maxOrdersPerHour: number;
  maxOrdersPerTenantPerHour: number;
}

/** How long a server may work on one order before another may take the host over (a crashed server's lease). */
export const ORDER_LEASE_MS = 10 * 60_000;

const HOUR_MS = 3600_000;

/** What a claim needs: the host, who it is for, why, the limits and the clock. */
export interface OrderClaim {
  hostname: string;
  tenantId: string | null;
  domainId: string | null;
  reason: 'issue' | 'renew' | 'demand';
  limits: AcmeLimits;
  now: Date;
}

/** A claim's outcome: the order's row id, or why no order may be placed now. */
export type ClaimResult =
  | { claimed: true; orderId: number }
  | { claimed: false; reason: 'in_progress' | 'rate_limited'; message: string };

/**
 * Records an order about to be placed, as the one `pending` order of its host (a unique index),
 * after checking the global and per-tenant hourly limits. Under one store-wide lock, so servers
 * sharing the store cannot together exceed a limit. A pending order whose lease ran out (its
 * server died) is marked invalid first.
 */
export async function claimOrder(store: Store, claim: OrderClaim): Promise<ClaimResult> {
  return store.withLock('acme-orders', () => store.db.transaction(async (tx) => {
    await tx.update(acmeOrders).set({ state: 'invalid', error: 'abandoned: its server stopped working on it', finishedAt: claim.now })
      .where(and(eq(acmeOrders.hostname, claim.hostname), eq(acmeOrders.state, 'pending'), lt(acmeOrders.leaseUntil, claim.now)));
    const [pending] = await tx.select({ id: acmeOrders.id }).from(acmeOrders)
      .where(and(eq(acmeOrders.hostname, claim.hostname), eq(acmeOrders.state, 'pending')));
    if (pending) return { claimed: false, reason: 'in_progress', message: `an order for ${claim.hostname} is in progress` };
    const since = new Date(claim.now.getTime() - HOUR_MS);
    const [all] = await tx.select({ n: count() }).from(acmeOrders).where(gte(acmeOrders.createdAt, since));
    if ((all?.n ?? 0) >= claim.limits.maxOrdersPerHour) {
      return { claimed: false, reason: 'rate_limited', message: `at most ${claim.limits.maxOrdersPerHour} ACME orders per hour (SLIPWAY_ACME_MAX_ORDERS_PER_HOUR)` };
    }
    if (claim.tenantId) {
      const [mine] = await tx.select({ n: count() }).from(acmeOrders)
        .where(and(gte(acmeOrders.createdAt, since), eq(acmeOrders.tenantId, claim.tenantId)));
      if ((mine?.n ?? 0) >= claim.limits.maxOrdersPerTenantPerHour) {
        return {
          claimed: false, reason: 'rate_limited',
          message: `at most ${claim.limits.maxOrdersPerTenantPerHour} ACME orders per tenant per hour (SLIPWAY_ACME_MAX_ORDERS_PER_TENANT_PER_HOUR)`,
        };
      }
    }
    const [row] = await tx.insert(acmeOrders).values({
      hostname: claim.hostname, tenantId: claim.tenantId, domainId: claim.domainId, reason: claim.reason, state: 'pending',
      leaseUntil: new Date(claim.now.getTime() + ORDER_LEASE_MS), createdAt: claim.now,
    }).returning({ id: acmeOrders.id });
    return { claimed: true, orderId: row!.id };
  }));
}

/** Closes an order's row as `valid` or `invalid` (with the CA's message), inside the caller's transaction. */
export async function finishOrder(tx: Tx | Db, orderId: number, outcome: { error: string | null; now: Date }): Promise<void> {
  await tx.update(acmeOrders).set({ state: outcome.error === null ? 'valid' : 'invalid', error: outcome.error, finishedAt: outcome.now })
    .where(eq(acmeOrders.id, orderId));
}

/** Failed orders of a host in a row since its last good one, and when the latest finished. */
export async function recentFailures(db: Db, hostname: string): Promise<{ failures: number; lastFinishedAt: Date | null }> {
  const rows = await db.select({ state: acmeOrders.state, finishedAt: acmeOrders.finishedAt }).from(acmeOrders)
    .where(eq(acmeOrders.hostname, hostname)).orderBy(desc(acmeOrders.id)).limit(10);
  let failures = 0;
  for (const r of rows) {
    if (r.state !== 'invalid') break;
    failures += 1;
  }
  return { failures, lastFinishedAt: failures > 0 ? rows[0]!.finishedAt : null };
}

/** Waits before the next attempt after `failures` failed ones in a row: 1 min, 5 min, 30 min, then hourly. */
export const RETRY_BACKOFF_MS = [60_000, 5 * 60_000, 30 * 60_000, HOUR_MS] as const;

/** The wait after the `failures`-th failure in a row (1-based). */
export function retryDelayMs(failures: number): number {
  return RETRY_BACKOFF_MS[Math.min(Math.max(failures, 1), RETRY_BACKOFF_MS.length) - 1]!;
}
