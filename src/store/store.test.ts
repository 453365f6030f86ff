// The store's conformance suite: runs on PGlite, and on PostgreSQL when
// SLIPWAY_TEST_DATABASE_URL is set (CI sets it), with the same migrations and queries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { createTestDatabase, openTestStore, testDatabaseUrl } from '../../test/support/test-store.js';
import { bootstrap } from '../services/bootstrap.js';
import { waitFor } from '../util/wait-for.js';
import { openPgliteStore } from './pglite/pglite-store.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { migrateToLatest, splitStatements } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { apiKeys, deployments, events, projects, tenants } from './schema.js';
import type { Store } from './store.js';

const driver = testDatabaseUrl ? 'postgres' : 'pglite';

async function seed(store: Store): Promise<void> {
  const now = new Date();
  await store.db.insert(tenants).values({ id: 'ten_a', name: 'a', slug: 'a', displayName: 'a', createdAt: now });
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

test(`${driver}: the same deployment slug lives in two tenants`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  await seed(store);
  const now = new Date();
  await store.db.insert(tenants).values({ id: 'ten_b', name: 'b', slug: 'b', displayName: 'b', createdAt: now });
  await store.db.insert(projects).values({ id: 'prj_b', tenantId: 'ten_b', name: 'p', createdAt: now });
  await store.db.insert(deployments).values(deployment('dep_a', 'shop'));
  await store.db.insert(deployments).values({ ...deployment('dep_b', 'shop'), tenantId: 'ten_b', projectId: 'prj_b' });
  assert.equal((await store.db.select().from(deployments).where(eq(deployments.slug, 'shop'))).length, 2);
});

test(`${driver}: 0013 migrates a database made before tenants (the default tenant, its keys, its deployments)`, async (t) => {
  // An empty database of this run's kind, migrated by hand up to just before 0013.
  const dir = await mkdtemp(join(tmpdir(), 'slipway-migrate-0013-'));
  const database = testDatabaseUrl ? await createTestDatabase() : undefined;
  const store = database ? await openPostgresStore({ url: database.url }) : await openPgliteStore({ dataDir: join(dir, 'db') });
  t.after(async () => {
    await store.close();
    await database?.drop();
    await rm(dir, { recursive: true, force: true });
  });
  const at = MIGRATIONS.findIndex((m) => m.id === '0013-tenants-domains-tls');
  assert.ok(at > 0);
  await migrateToLatest(store, MIGRATIONS.slice(0, at));
  // The shape `slipway up` left: one tenant named default, its admin and internal keys, a member key, a deployment.
  await store.exec(`
INSERT INTO tenants (id, name, created_at) VALUES ('ten_old', 'default', now());
INSERT INTO projects (id, tenant_id, name, created_at) VALUES ('prj_old', 'ten_old', 'default', now());
INSERT INTO api_keys (id, tenant_id, role, name, token_hash, created_at) VALUES
  ('key_admin', 'ten_old', 'admin', 'admin (created by slipway up)', 'hash-admin', now()),
  ('key_internal', 'ten_old', 'internal', 'edge and agents', 'hash-internal', now()),
  ('key_member', 'ten_old', 'member', 'ci', 'hash-member', now());
INSERT INTO deployments (id, tenant_id, project_id, slug, name, created_at, updated_at) VALUES ('dep_old', 'ten_old', 'prj_old', 'site', 'site', now(), now());
`);
  const results = await migrateToLatest(store);
  assert.ok(results.some((r) => r.id === '0013-tenants-domains-tls' && r.status === 'applied'));

  const [tenant] = await store.db.select().from(tenants).where(eq(tenants.id, 'ten_old'));
  assert.equal(tenant?.slug, 'default');
  assert.equal(tenant?.state, 'active');
  const roles = Object.fromEntries((await store.db.select().from(apiKeys)).map((k) => [k.id, k.role]));
  assert.deepEqual(roles, { key_admin: 'operator', key_internal: 'internal', key_member: 'member' });
  assert.equal((await store.db.select().from(deployments).where(eq(deployments.id, 'dep_old')))[0]?.tenantId, 'ten_old');

  // The next `slipway up` finds the old tenant instead of making a second default one.
  const paths = { credentialsFile: join(dir, 'credentials.json'), internalTokenFile: join(dir, 'internal-token') };
  const booted = await bootstrap(store.db, paths, 'http://127.0.0.1:1');
  assert.deepEqual({ tenantId: booted.tenantId, projectId: booted.projectId, created: booted.created }, { tenantId: 'ten_old', projectId: 'prj_old', created: false });
  assert.equal((await store.db.select().from(tenants)).length, 1);
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
