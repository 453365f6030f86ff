// The store's conformance suite: runs on PGlite, and on PostgreSQL when
// SLIPWAY_TEST_DATABASE_URL is set (CI sets it), with the same migrations and queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, sql } from 'drizzle-orm';
import { createTestDatabase, openTestStore, testDatabaseUrl } from '../../test/support/test-store.js';
import { waitFor } from '../util/wait-for.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { migrateToLatest, splitStatements } from './migrate.js';
import { deployments, events, projects, tenants } from './schema.js';
import type { Store } from './store.js';

const driver = testDatabaseUrl ? 'postgres' : 'pglite';

async function seed(store: Store): Promise<void> {
  const now = new Date();
  await store.db.insert(tenants).values({ id: 'ten_a', name: 'a', createdAt: now });
  await store.db.insert(projects).values({ id: 'prj_a', tenantId: 'ten_a', name: 'p', createdAt: now });
}

function deployment(id: string, slug: string) {
  const now = new Date();
  return { id, tenantId: 'ten_a', projectId: 'prj_a', slug, name: slug, spaFallback: false, nextVersionNumber: 1, createdAt: now, updatedAt: now };
}

test(`${driver}: migrations are recorded and a second run applies nothing`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  const again = await migrateToLatest(store);
  assert.ok(again.length > 0);
  assert.ok(again.every((r) => r.status === 'already_applied'));
});

test(`${driver}: a live slug is unique, a deleted deployment frees it`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  await seed(store);
  await store.db.insert(deployments).values(deployment('dep_1', 'site'));
  await assert.rejects(store.db.insert(deployments).values(deployment('dep_2', 'site')));
  await store.db.update(deployments).set({ deletedAt: new Date() }).where(eq(deployments.id, 'dep_1'));
  await store.db.insert(deployments).values(deployment('dep_3', 'site'));
});

test(`${driver}: concurrent version-number allocation never repeats a number`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  await seed(store);
  await store.db.insert(deployments).values(deployment('dep_1', 'site'));
  const allocate = () =>
    store.db.transaction(async (tx) => {
      const [row] = await tx
        .update(deployments)
        .set({ nextVersionNumber: sql`${deployments.nextVersionNumber} + 1` })
        .where(eq(deployments.id, 'dep_1'))
        .returning({ next: deployments.nextVersionNumber });
      return (row?.next ?? 0) - 1;
    });
  const numbers = await Promise.all(Array.from({ length: 20 }, allocate));
  assert.deepEqual([...numbers].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
});

test(`${driver}: withLock serializes holders of one key and not of others`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  const order: string[] = [];
  let release!: () => void;
  const first = store.withLock('dep_x', async () => {
    order.push('first in');
    await new Promise<void>((r) => (release = r));
    order.push('first out');
  });
  const second = store.withLock('dep_x', async () => order.push('second'));
  await store.withLock('dep_y', async () => order.push('other key'));
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first in', 'other key', 'first out', 'second']);
});

test(`${driver}: jsonb and timestamps round-trip`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  await seed(store);
  const at = new Date('2026-01-02T03:04:05.678Z');
  const data = { nested: { n: 1, s: 'x', list: [true, null] } };
  await store.db.insert(events).values({ id: 'evt_1', tenantId: 'ten_a', type: 't', actor: 'system', reason: 'r', data, createdAt: at });
  const [row] = await store.db.select().from(events);
  assert.deepEqual(row?.data, data);
  assert.equal(row?.createdAt.toISOString(), at.toISOString());
});

test('splitStatements drops comments and splits at line-ending semicolons', () => {
  assert.deepEqual(splitStatements('-- c\nCREATE TABLE a (x int);\nCREATE INDEX i ON a (x);\n'), [
    'CREATE TABLE a (x int)',
    'CREATE INDEX i ON a (x)',
  ]);
});

test(`${driver}: a dropped idle connection does not crash the process and the store keeps working`, { skip: testDatabaseUrl ? false : 'PGlite has no connections to drop' }, async (t) => {
  const database = await createTestDatabase();
  const idleErrors: Error[] = [];
  const store = await openPostgresStore({ url: database.url, onIdleError: (err) => idleErrors.push(err) });
  t.after(async () => {
    await store.close();
    await database.drop();
  });
  await migrateToLatest(store);
  // Three connections at once, so the pool keeps idle ones around.
  await Promise.all([1, 2, 3].map(() => store.db.execute(sql`SELECT pg_sleep(0.05)`)));
  // Terminate every other backend of this database, as an administrator or a restart would.
  await store.db.execute(sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
  await waitFor(() => idleErrors.length > 0, { description: 'the pool to report its dropped idle connections' });
  await seed(store);
  assert.equal((await store.db.select().from(tenants)).length, 1);
});

test(`${driver}: withLock excludes a holder on another server's connections (the build worker's claim)`, { skip: testDatabaseUrl ? false : 'PGlite belongs to one process' }, async (t) => {
  const { store, location, cleanup } = await openTestStore();
  const other = await openPostgresStore({ url: location });
  t.after(async () => {
    await other.close();
    await cleanup();
  });
  const order: string[] = [];
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const first = store.withLock('deployment:dep_x', async () => {
    order.push('server 1 in');
    entered();
    await new Promise<void>((r) => (release = r));
    order.push('server 1 out');
  });
  await inside;
  const second = other.withLock('deployment:dep_x', async () => order.push('server 2'));
  // Server 2 is blocked in pg_advisory_lock until server 1 lets go.
  await waitFor(async () => {
    const rows = await store.db.execute(sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`);
    return ((rows as unknown as { rows: Array<{ n: number }> }).rows[0]?.n ?? 0) > 0;
  }, { description: 'server 2 to wait for the lock' });
  release();
  await Promise.all([first, second]);
  assert.deepEqual(order, ['server 1 in', 'server 1 out', 'server 2']);
});
