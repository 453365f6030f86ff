import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { seedContext, seedDynamic, seedInstance, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { runtimeInstances, versions } from '../store/schema.js';
import { markReleasesCollected } from './gc/collect-release.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';
import { RolloutService, failureCode } from './rollout-service.js';
import { RouteFeed } from './route-feed.js';
import { waitFor } from '../util/wait-for.js';

async function withRollouts(replicas: number, fn: (rollouts: RolloutService, rows: () => Promise<Map<string, { desired: string; onDemand: boolean }>>) => Promise<void>) {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const routes = new RouteFeed(ctx);
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }, { n: 3, state: 'ready' }], active: 3, switchedAt: new Date(), replicas });
    await seedInstance(store, { id: 'rti_replaced', version: 2, state: 'healthy', failFast: false });
    await seedInstance(store, { id: 'rti_woken', version: 1, state: 'healthy', failFast: false });
    await seedInstance(store, { id: 'rti_active_woken', version: 3, state: 'healthy', failFast: false });
    for (const id of ['rti_woken', 'rti_active_woken']) await store.db.update(runtimeInstances).set({ onDemand: true }).where(eq(runtimeInstances.id, id));
    const rows = async () => new Map((await store.db.select().from(runtimeInstances)).map((r) => [r.id, { desired: r.desired, onDemand: r.onDemand }]));
    await fn(new RolloutService(ctx, new InstanceService(ctx, new EnvService(ctx)), routes), rows);
  } finally {
    routes.stop();
    await cleanup();
  }
}

test('after a switch the replaced version stops, but a version woken by requests keeps serving them until idle', () => withRollouts(1, async (rollouts, rows) => {
  await rollouts.retireOthers(SEED.deploymentId, 'ver_3');
  const after = await rows();
  assert.equal(after.get('rti_replaced')!.desired, 'stopped');
  assert.equal(after.get('rti_woken')!.desired, 'running');
  // Switched to (a rollback to a woken version): its instances become replicas.
  assert.deepEqual(after.get('rti_active_woken'), { desired: 'running', onDemand: false });
}));

test('scaled to zero, the live version\'s woken instances stay on demand', () => withRollouts(0, async (rollouts, rows) => {
  await rollouts.retireOthers(SEED.deploymentId, 'ver_3');
  assert.deepEqual((await rows()).get('rti_active_woken'), { desired: 'running', onDemand: true });
}));

test('a wake and a rollback of the same version run one after another, and neither stops the other\'s instances', async () => {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const routes = new RouteFeed(ctx);
  const rollouts = new RolloutService(ctx, new InstanceService(ctx, new EnvService(ctx)), routes);
  const rollback = new AbortController();
  const waking = new AbortController();
  const liveOf = async () => (await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, 'ver_1')))
    .filter((r) => r.desired === 'running').map((r) => r.id);
  const boots: Promise<unknown>[] = [];
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 2, switchedAt: new Date(), replicas: 2 });
    const version = { id: 'ver_1', tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: 1 };
    const wake = rollouts.boot(version, { runtime: {}, actor: 'system', onDemand: true, count: 1, signal: waking.signal });
    boots.push(wake);
    const [woken] = await waitFor(async () => ((await liveOf()).length === 1 ? liveOf() : null), { timeoutMs: 15_000, description: 'the wake\'s instance' });
    const back = rollouts.boot(version, { runtime: {}, actor: 'key_t', signal: rollback.signal });
    boots.push(back.catch(() => undefined));
    // The rollback waits for the wake's boot instead of replacing its instance. One turn of the
    // loop is enough on PGlite, whose single connection queues the query below behind a
    // rollback's transaction had one started; the creation times checked below hold on any store.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await liveOf(), [woken]);
    const wokenHealthyAt = Date.now();
    await store.db.update(runtimeInstances).set({ state: 'healthy' }).where(eq(runtimeInstances.id, woken!));
    ctx.notifier.emit('instance', SEED.deploymentId);
    await wake;
    await waitFor(async () => (await liveOf()).length === 3, { timeoutMs: 15_000, description: 'the rollback\'s two instances beside the woken one' });
    // Created only once the wake's boot was over: the two boots ran one after the other.
    const rollbackRows = (await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, 'ver_1'))).filter((r) => r.id !== woken);
    for (const row of rollbackRows) assert.ok(row.createdAt.getTime() >= wokenHealthyAt, `${row.id} was created before the wake's boot ended`);
    rollback.abort();
    await assert.rejects(back, { code: 'interrupted' });
    assert.deepEqual(await liveOf(), [woken], 'a failed rollback stops only its own instances');
  } finally {
    rollback.abort();
    waking.abort();
    await Promise.allSettled(boots);
    routes.stop();
    await cleanup();
  }
});

test('a rollout fails with the reason an instance could not start, not with a health check that never ran', () => {
  assert.equal(failureCode('unavailable'), 'unavailable', 'no container engine on the agent');
  assert.equal(failureCode('invalid_archive'), 'invalid_archive');
  assert.equal(failureCode('isolation_unavailable'), 'isolation_unavailable');
  assert.equal(failureCode('oom_killed'), 'instance_oom_killed');
  assert.equal(failureCode('health_check_failed'), 'health_check_failed');
  assert.equal(failureCode('something_new'), 'health_check_failed');
  assert.equal(failureCode(null), 'health_check_failed');
});

test('garbage collection and a boot of the same version (a wake, a rollback) exclude each other: whichever goes second sees the first', async () => {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const routes = new RouteFeed(ctx);
  const rollouts = new RolloutService(ctx, new InstanceService(ctx, new EnvService(ctx)), routes);
  const abort = new AbortController();
  const boots: Promise<unknown>[] = [];
  const liveOf = async (id: string) => (await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, id)))
    .filter((r) => r.desired === 'running').map((r) => r.id);
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }, { n: 3, state: 'ready' }], active: 3, switchedAt: new Date() });
    await store.db.update(versions).set({ artifactSha256: 'b'.repeat(64) });
    const target = (n: number) => ({ id: `ver_${n}`, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: n, artifactSha256: 'b'.repeat(64) });

    // Collected after the caller checked the version, before its boot: the boot is refused and starts nothing.
    assert.deepEqual(await markReleasesCollected(store.db, [target(1)], 'test'), ['ver_1']);
    let settled: { error: unknown } | undefined;
    const refused = rollouts.boot(target(1), { runtime: {}, actor: 'system', onDemand: true, count: 1, signal: abort.signal });
    boots.push(refused.then(() => { settled = { error: undefined }; }, (error: unknown) => { settled = { error }; }));
    // Either the boot ends or it started an instance; without the check it would wait for health.
    await waitFor(async () => settled !== undefined || (await liveOf('ver_1')).length > 0, { timeoutMs: 15_000, description: 'the boot to end or start' });
    assert.deepEqual(await liveOf('ver_1'), [], 'nothing starts on a collected release');
    assert.equal((settled?.error as { code?: string } | undefined)?.code, 'release_collected');

    // Booted first: collection sees the instance and leaves the release.
    const booting = rollouts.boot(target(2), { runtime: {}, actor: 'system', onDemand: true, count: 1, signal: abort.signal });
    boots.push(booting.catch(() => undefined));
    await waitFor(async () => (await liveOf('ver_2')).length === 1, { timeoutMs: 15_000, description: 'the boot\'s instance' });
    assert.deepEqual(await markReleasesCollected(store.db, [target(2)], 'test'), []);
    const [v2] = await store.db.select().from(versions).where(eq(versions.id, 'ver_2'));
    assert.equal(v2!.artifactCollectedAt, null);
  } finally {
    abort.abort();
    await Promise.allSettled(boots);
    routes.stop();
    await cleanup();
  }
});
