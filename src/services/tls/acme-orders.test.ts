import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { seedDeployment, SEED } from '../../../test/support/seed.js';
import { openTestStore } from '../../../test/support/test-store.js';
import { acmeOrders } from '../../store/schema.js';
import { claimOrder, finishOrder, ORDER_LEASE_MS, recentFailures, retryDelayMs, type OrderClaim } from './acme-orders.js';

const limits = { maxOrdersPerHour: 3, maxOrdersPerTenantPerHour: 2 };

test('one pending order per host at a time, a dead server\'s lease is taken over, and the hourly limits hold', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    await seedDeployment(store);
    const t0 = new Date('2026-12-07T10:00:00Z');
    const claim = (hostname: string, now: Date, tenantId: string | null = SEED.tenantId): OrderClaim =>
      ({ hostname, tenantId, domainId: null, reason: 'issue', limits, now });
    // Two servers claiming the same host at once: exactly one gets it.
    const both = await Promise.all([claimOrder(store, claim('a.test', t0)), claimOrder(store, claim('a.test', t0))]);
    assert.deepEqual(both.map((c) => c.claimed).sort(), [false, true]);
    assert.equal(both.find((c) => !c.claimed && c.reason === 'in_progress') !== undefined, true);
    // Within the lease it stays taken; past it, the next claim marks it abandoned and takes over.
    assert.equal((await claimOrder(store, claim('a.test', new Date(t0.getTime() + ORDER_LEASE_MS - 1)))).claimed, false);
    const later = new Date(t0.getTime() + ORDER_LEASE_MS + 1);
    const takeover = await claimOrder(store, claim('a.test', later));
    assert.equal(takeover.claimed, true);
    const rows = await store.db.select().from(acmeOrders).where(eq(acmeOrders.hostname, 'a.test')).orderBy(acmeOrders.id);
    assert.deepEqual(rows.map((r) => r.state), ['invalid', 'pending']);
    // Per tenant: 2 in the hour are placed, the third is refused; another tenant-less host still fits the global 3.
    if (takeover.claimed) await finishOrder(store.db, takeover.orderId, { error: 'no', now: later });
    const third = await claimOrder(store, claim('b.test', later));
    assert.equal(third.claimed, false);
    assert.equal(!third.claimed && third.reason, 'rate_limited');
    assert.equal((await claimOrder(store, claim('c.test', later, null))).claimed, true);
    assert.equal((await claimOrder(store, claim('d.test', later, null))).claimed, false, 'the global limit of 3');
    // An hour later the window has moved on.
    assert.equal((await claimOrder(store, claim('b.test', new Date(t0.getTime() + 3600_000 + 1)))).claimed, true);
    assert.deepEqual(await recentFailures(store.db, 'a.test'), { failures: 2, lastFinishedAt: later });
  } finally {
    await cleanup();
  }
});

test('retries wait 1 min, 5 min, 30 min, then every hour', () => {
  assert.deepEqual([1, 2, 3, 4, 9].map(retryDelayMs), [60_000, 300_000, 1_800_000, 3_600_000, 3_600_000]);
});
