import assert from 'node:assert/strict';
import { test } from 'node:test';
import { and, eq, isNull } from 'drizzle-orm';
import { seedContext, seedDynamic, seedInstance, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { apiKeys, deployments, events, operations, runtimeInstances, tenants, versions } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { waitFor } from '../util/wait-for.js';
import { createApiKey } from './api-keys.js';
import { BuildWorker } from './build-worker.js';
import type { Principal, ServiceContext } from './context.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';
import { RolloutService } from './rollout-service.js';
import { RouteFeed } from './route-feed.js';
import { TenantLifecycle } from './tenant-lifecycle.js';

const OPERATOR: Principal = { keyId: 'key_op', tenantId: 'ten_default', projectId: null, role: 'operator' };
const VERSION_1 = { id: 'ver_1', tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: 1 };

interface World {
  store: Store;
  ctx: ServiceContext;
  lifecycle: TenantLifecycle;
  rollouts: RolloutService;
}

/**
 * A store holding the default tenant and tenant `acme` (the seeded one, renamed) with a dynamic
 * deployment whose versions 1 and 2 are ready, 2 active, and a healthy replica of version 2.
 */
async function withTenant(fn: (w: World) => Promise<void>): Promise<void> {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const routes = new RouteFeed(ctx);
  const env = new EnvService(ctx);
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 2, switchedAt: new Date() });
    await store.db.update(tenants).set({ slug: 'acme', name: 'acme' }).where(eq(tenants.id, SEED.tenantId));
    await store.db.insert(tenants).values({ id: 'ten_default', name: 'default', slug: 'default', displayName: 'default', createdAt: new Date() });
    await seedInstance(store, { id: 'rti_replica', version: 2, state: 'healthy', failFast: false });
    const lifecycle = new TenantLifecycle(ctx, { reconciler: { kick: async () => [] }, env });
    await fn({ store, ctx, lifecycle, rollouts: new RolloutService(ctx, new InstanceService(ctx, env), routes) });
  } finally {
    routes.stop();
    await cleanup();
  }
}

const running = async (store: Store) => (await store.db.select().from(runtimeInstances))
  .filter((r) => r.desired === 'running').map((r) => r.id).sort();

test('a boot after the suspension is refused with tenant_suspended and starts nothing', () => withTenant(async ({ store, lifecycle, rollouts }) => {
  await lifecycle.suspend(OPERATOR, SEED.tenantId);
  await assert.rejects(rollouts.boot(VERSION_1, { runtime: {}, actor: 'key_t' }), { code: 'tenant_suspended' });
  assert.deepEqual(await running(store), []);
  assert.equal((await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, 'ver_1'))).length, 0, 'no instance row was even created');
}));

test('a suspension during a boot stops the instances it started, and the boot fails', () => withTenant(async ({ store, ctx, lifecycle, rollouts }) => {
  const abort = new AbortController();
  const boot = rollouts.boot(VERSION_1, { runtime: {}, actor: 'key_t', signal: abort.signal });
  const settled = boot.then(() => 'booted', (err: { code?: string }) => err.code);
  try {
    const [started] = await waitFor(async () => {
      const rows = await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, 'ver_1'));
      return rows.length > 0 ? rows : null;
    }, { timeoutMs: 15_000, description: "the boot's instance" });
    await lifecycle.suspend(OPERATOR, SEED.tenantId);
    // The agent reports the stop the suspension asked for; the boot sees it and gives up.
    await store.db.update(runtimeInstances).set({ state: 'stopped' }).where(eq(runtimeInstances.id, started!.id));
    ctx.notifier.emit('instance', SEED.deploymentId);
    assert.notEqual(await settled, 'booted');
    assert.deepEqual(await running(store), [], 'no instance of the tenant is meant to run');
  } finally {
    abort.abort();
    await settled;
  }
}));

test("a suspended tenant's queued build fails with tenant_suspended instead of running", () => withTenant(async ({ store, ctx, lifecycle }) => {
  const now = new Date();
  await store.db.insert(versions).values({
    id: 'ver_3', tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: 3, kind: 'dynamic', state: 'queued',
    sourceSha256: 'a'.repeat(64), requestedKind: 'auto', runtimeOptions: {}, env: {}, attempts: 0, createdBy: 'key_t', createdAt: now,
  });
  await store.db.insert(operations).values({ id: 'op_3', tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionId: 'ver_3', kind: 'publish', state: 'running', createdAt: now });
  await lifecycle.suspend(OPERATOR, SEED.tenantId);
  const config = { ...ctx.config, buildConcurrency: 1, workDir: '/nonexistent-slipway-work', logDir: '/nonexistent-slipway-logs' };
  const worker = new BuildWorker({ ...ctx, config } as ServiceContext, {} as RolloutService, new EnvService(ctx));
  try {
    worker.kick(SEED.deploymentId);
    const [v] = await waitFor(async () => {
      const rows = await store.db.select().from(versions).where(and(eq(versions.id, 'ver_3'), eq(versions.state, 'failed')));
      return rows.length > 0 ? rows : null;
    }, { timeoutMs: 15_000, description: 'version 3 failed' });
    assert.equal(v!.errorCode, 'tenant_suspended');
    const [op] = await store.db.select().from(operations).where(eq(operations.id, 'op_3'));
    assert.equal(op!.errorCode, 'tenant_suspended');
  } finally {
    await worker.stop();
  }
}));

test('suspend stops woken instances too; suspend and resume are idempotent; the default tenant is refused', () => withTenant(async ({ store, lifecycle }) => {
  await seedInstance(store, { id: 'rti_woken', version: 1, state: 'healthy', failFast: false });
  await store.db.update(runtimeInstances).set({ onDemand: true }).where(eq(runtimeInstances.id, 'rti_woken'));
  const first = await lifecycle.suspend(OPERATOR, SEED.tenantId);
  assert.equal(first.state, 'suspended');
  assert.deepEqual(await running(store), []);
  const again = await lifecycle.suspend(OPERATOR, SEED.tenantId);
  assert.equal(again.suspended_at, first.suspended_at, 'a second suspend keeps the first time');
  const tenantEvents = async (type: string) => (await store.db.select().from(events).where(and(eq(events.tenantId, SEED.tenantId), eq(events.type, type)))).length;
  assert.equal(await tenantEvents('tenant.suspended'), 1);
  assert.equal((await lifecycle.resume(OPERATOR, SEED.tenantId)).state, 'active');
  assert.equal((await lifecycle.resume(OPERATOR, SEED.tenantId)).suspended_at, null);
  assert.equal(await tenantEvents('tenant.resumed'), 1);
  for (const verb of ['suspend', 'resume', 'remove'] as const) {
    await assert.rejects(lifecycle[verb](OPERATOR, 'ten_default'), { code: 'invalid_request' }, verb);
  }
  await assert.rejects(lifecycle.suspend({ ...OPERATOR, role: 'admin', tenantId: SEED.tenantId }, SEED.tenantId), { code: 'forbidden' });
}));

test("delete removes the tenant's deployments, stops its instances and revokes its keys", () => withTenant(async ({ store, lifecycle }) => {
  const key = await createApiKey(store.db, { tenantId: SEED.tenantId, role: 'admin', name: 'acme admin' });
  await lifecycle.remove(OPERATOR, SEED.tenantId);
  assert.deepEqual(await running(store), []);
  assert.equal((await store.db.select().from(deployments).where(and(eq(deployments.tenantId, SEED.tenantId), isNull(deployments.deletedAt)))).length, 0);
  const [row] = await store.db.select().from(apiKeys).where(eq(apiKeys.id, key.id));
  assert.ok(row!.revokedAt !== null);
  await assert.rejects(lifecycle.resume(OPERATOR, SEED.tenantId), { code: 'tenant_not_found' });
}));
