import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import assert from 'node:assert/strict';
import { seedContext, seedDynamic, seedInstance, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { runtimeInstances, services, tenants, versions } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';
import { Reconciler } from './reconciler.js';

async function withReconciler(seed: (store: Store) => Promise<void>, fn: (r: Reconciler, store: Store) => Promise<void>): Promise<void> {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const reconciler = new Reconciler(ctx, new InstanceService(ctx, new EnvService(ctx)));
  try {
    await seed(store);
    await fn(reconciler, store);
  } finally {
    await reconciler.stop();
    await cleanup();
  }
}

const desiredById = async (store: Store) => new Map((await store.db.select().from(runtimeInstances)).map((r) => [r.id, r.desired]));

test('well after a switch, old versions\' instances still meant to run are retired; rollouts are not', () => withReconciler(async (store) => {
  // A crash between promoting v2 and draining v1 left v1 running, two minutes ago.
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }, { n: 3, state: 'building' }], active: 2, switchedAt: new Date(Date.now() - 120_000) });
  await seedInstance(store, { id: 'rti_old', version: 1, state: 'healthy', failFast: false });
  await seedInstance(store, { id: 'rti_active', version: 2, state: 'healthy', failFast: false });
  await seedInstance(store, { id: 'rti_rollout', version: 3, state: 'starting', failFast: true });
}, async (reconciler, store) => {
  const [result] = await reconciler.kick(SEED.deploymentId);
  assert.deepEqual(result, { deploymentId: SEED.deploymentId, started: 0, stopped: 0 });
  const desired = await desiredById(store);
  assert.equal(desired.get('rti_old'), 'stopped');
  assert.equal(desired.get('rti_active'), 'running');
  assert.equal(desired.get('rti_rollout'), 'running', 'a running rollout of a newer version is its build worker\'s business');
}));

test('right after a switch the old instances are left to drain', () => withReconciler(async (store) => {
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 2, switchedAt: new Date() });
  await seedInstance(store, { id: 'rti_old', version: 1, state: 'healthy', failFast: false });
  await seedInstance(store, { id: 'rti_active', version: 2, state: 'healthy', failFast: false });
}, async (reconciler, store) => {
  await reconciler.kick(SEED.deploymentId);
  assert.equal((await desiredById(store)).get('rti_old'), 'running');
}));

test('replicas: missing ones are created, a failed one is replaced only when asked, extra ones stop (unhealthy first)', () => withReconciler(async (store) => {
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }], active: 1, switchedAt: new Date(), replicas: 3 });
  await seedInstance(store, { id: 'rti_a', version: 1, state: 'healthy', failFast: false });
  await seedInstance(store, { id: 'rti_failed', version: 1, state: 'failed', failFast: false });
}, async (reconciler, store) => {
  const [first] = await reconciler.kick(SEED.deploymentId);
  assert.equal(first!.started, 1, 'one missing; the failed one still counts, or its crash loop would start again');
  const [second] = await reconciler.kick(SEED.deploymentId, { replaceFailed: true });
  assert.equal(second!.started, 1, 'scaling again replaces it');
  const rows = await store.db.select().from(runtimeInstances);
  assert.equal(rows.filter((r) => r.state === 'pending' && r.desired === 'running').length, 2);
  // Down to one: the two pending ones go, the healthy one stays.
  await store.db.update(services).set({ desiredReplicas: 1 });
  const [third] = await reconciler.kick(SEED.deploymentId);
  assert.equal(third!.stopped, 2);
  assert.equal((await desiredById(store)).get('rti_a'), 'running');
}));

/** Marks seeded instances as started on demand (a wake). */
async function markOnDemand(store: Store, ids: string[]): Promise<void> {
  for (const id of ids) await store.db.update(runtimeInstances).set({ onDemand: true }).where(eq(runtimeInstances.id, id));
}

test('a woken old version is not retired as superseded: it stops when idle, not here', () => withReconciler(async (store) => {
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 2, switchedAt: new Date(Date.now() - 120_000) });
  await seedInstance(store, { id: 'rti_woken', version: 1, state: 'healthy', failFast: false });
  await seedInstance(store, { id: 'rti_active', version: 2, state: 'healthy', failFast: false });
  await markOnDemand(store, ['rti_woken']);
}, async (reconciler, store) => {
  await reconciler.kick(SEED.deploymentId);
  assert.equal((await desiredById(store)).get('rti_woken'), 'running');
}));

test('scaled to zero, on-demand instances are kept and are not replicas; scaled up, they become the replicas', () => withReconciler(async (store) => {
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }], active: 1, switchedAt: new Date(), replicas: 0 });
  await seedInstance(store, { id: 'rti_woken', version: 1, state: 'healthy', failFast: false });
  await markOnDemand(store, ['rti_woken']);
}, async (reconciler, store) => {
  const [zero] = await reconciler.kick(SEED.deploymentId);
  assert.deepEqual(zero, { deploymentId: SEED.deploymentId, started: 0, stopped: 0 });
  assert.equal((await desiredById(store)).get('rti_woken'), 'running');
  await store.db.update(services).set({ desiredReplicas: 1 });
  const [one] = await reconciler.kick(SEED.deploymentId);
  assert.equal(one!.started, 0, 'the woken instance is the replica: no second one beside it');
  const [row] = await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.id, 'rti_woken'));
  assert.deepEqual({ desired: row!.desired, onDemand: row!.onDemand }, { desired: 'running', onDemand: false });
}));

test('scaled up from zero, the live version\'s woken instance becomes a replica instead of serving beside them forever', () => withReconciler(async (store) => {
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 2, switchedAt: new Date(), replicas: 2 });
  await seedInstance(store, { id: 'rti_woken_live', version: 2, state: 'healthy', failFast: false });
  await seedInstance(store, { id: 'rti_woken_old', version: 1, state: 'healthy', failFast: false });
  await store.db.update(runtimeInstances).set({ onDemand: true });
}, async (reconciler, store) => {
  const [result] = await reconciler.kick(SEED.deploymentId, { replaceFailed: true });
  assert.equal(result!.started, 1, 'two replicas wanted, the woken one is the first');
  const rows = new Map((await store.db.select().from(runtimeInstances)).map((r) => [r.id, r]));
  assert.equal(rows.get('rti_woken_live')!.onDemand, false);
  assert.equal(rows.get('rti_woken_live')!.desired, 'running');
  assert.equal(rows.get('rti_woken_old')!.onDemand, true, 'an old version\'s woken instance still stops when idle');
  assert.equal([...rows.values()].filter((r) => r.versionId === 'ver_2' && r.desired === 'running').length, 2);
}));

test('instances go to the host this server places them on (SLIPWAY_HOST_ID): that agent is told and runs them, no other', async () => {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  ctx.config.hostId = 'host-b';
  const instances = new InstanceService(ctx, new EnvService(ctx));
  const reconciler = new Reconciler(ctx, instances);
  const told: string[] = [];
  ctx.notifier.on('assignments', (host) => told.push(host));
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }], active: 1, switchedAt: new Date() });
    await store.db.update(versions).set({
      artifactSha256: 'b'.repeat(64), releaseManifest: { format: 1, kind: 'dynamic', run_command: 'node server.js', port: 3000, detected: 'explicit' },
    });
    const [result] = await reconciler.kick(SEED.deploymentId);
    assert.equal(result!.started, 1);
    const [row] = await store.db.select().from(runtimeInstances);
    assert.equal(row!.hostId, 'host-b');
    assert.deepEqual(told, ['host-b'], 'the agent of host-b is the one woken');

    const work = await instances.assignments('host-b');
    assert.deepEqual(work.map((a) => [a.runtime_instance_id, a.env.SLIPWAY_HOST_ID]), [[row!.id, 'host-b']]);
    assert.deepEqual(await instances.assignments('local'), [], 'an agent with another id gets nothing');
    const report = { runtime_instance_id: row!.id, state: 'healthy' as const, address: '10.9.0.2:3000', reason: 'GET / answered 200', reason_code: null, restart_count: 0 };
    await assert.rejects(instances.report('local', report), (err: Error & { code?: string }) => err.code === 'instance_not_found');
    await instances.report('host-b', report);
    const [after] = await store.db.select().from(runtimeInstances);
    assert.equal(after!.state, 'healthy');
  } finally {
    await reconciler.stop();
    await cleanup();
  }
});

test("a suspended tenant's services run nothing, and run their replicas again once it is resumed", () => withReconciler(async (store) => {
  await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }], active: 1, switchedAt: new Date(), replicas: 2 });
  await store.db.update(tenants).set({ state: 'suspended', suspendedAt: new Date() }).where(eq(tenants.id, SEED.tenantId));
}, async (reconciler, store) => {
  const [suspended] = await reconciler.kick(SEED.deploymentId);
  assert.deepEqual(suspended, { deploymentId: SEED.deploymentId, started: 0, stopped: 0 });
  assert.equal((await store.db.select().from(runtimeInstances)).length, 0);
  const [service] = await store.db.select().from(services);
  assert.equal(service!.desiredReplicas, 2, 'the count is kept for the resume');
  await store.db.update(tenants).set({ state: 'active', suspendedAt: null }).where(eq(tenants.id, SEED.tenantId));
  const [resumed] = await reconciler.kick(SEED.deploymentId);
  assert.equal(resumed!.started, 2);
}));
