import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { seedContext, seedDynamic, seedInstance, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { events, runtimeInstances, services, tenants, versions } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { waitFor } from '../util/wait-for.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';
import type { BootOptions, BootTarget, RolloutService } from './rollout-service.js';
import { WakeService } from './wake-service.js';

/** The rollout's boot as a stub: the code under test is what decides to call it, and how often. */
function stubRollouts() {
  const boots: { version: BootTarget; options: BootOptions }[] = [];
  let finish!: (err?: Error) => void;
  let done = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
  const rollouts = {
    async boot(version: BootTarget, options: BootOptions) {
      boots.push({ version, options });
      await done;
    },
  } as unknown as RolloutService;
  const next = () => {
    done = new Promise<void>((resolve, reject) => (finish = (err) => (err ? reject(err) : resolve())));
  };
  return { rollouts, boots, finish: (err?: Error) => finish(err), next };
}

type WakeTest = { wake: WakeService; store: Store; stub: ReturnType<typeof stubRollouts>; advance: (ms: number) => void };

async function withWake(fn: (t: WakeTest) => Promise<void>, options: { maxVersions?: number } = {}) {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const stub = stubRollouts();
  let now = 1_000_000;
  const wake = new WakeService(ctx, { instances: new InstanceService(ctx, new EnvService(ctx)), rollouts: stub.rollouts }, { idleMs: 10_000, now: () => now, ...options });
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }, { n: 3, state: 'failed' }, { n: 4, state: 'ready' }, { n: 5, state: 'ready' }], active: 2, switchedAt: new Date() });
    await seedInstance(store, { id: 'rti_live', version: 2, state: 'healthy', failFast: false });
    await fn({ wake, store, stub, advance: (ms) => (now += ms) });
  } finally {
    stub.finish();
    await wake.stop();
    await cleanup();
  }
}

test('concurrent wakes of a sleeping version boot it once, on demand, without touching the live version', () => withWake(async ({ wake, stub }) => {
  const answers = await Promise.all(Array.from({ length: 10 }, () => wake.wake(SEED.deploymentId, 1)));
  assert.ok(answers.every((a) => a.state === 'starting' && a.retry_after_s >= 1));
  assert.equal(stub.boots.length, 1);
  assert.equal(stub.boots[0]!.version.versionNumber, 1);
  assert.equal(stub.boots[0]!.options.onDemand, true);
  assert.equal(stub.boots[0]!.options.count, 1, 'one instance, however many replicas the live version has');
  assert.deepEqual(stub.boots[0]!.options.runtime, {}, 'the service\'s current settings, unchanged');
}));

test('the live version with replicas is the reconciler\'s; unknown or unready versions are not found', () => withWake(async ({ wake, store, stub }) => {
  assert.equal((await wake.wake(SEED.deploymentId, 2)).state, 'starting', 'its instance is there: the route is a moment away');
  await store.db.update(runtimeInstances).set({ desired: 'stopped', state: 'stopped' }).where(eq(runtimeInstances.id, 'rti_live'));
  assert.equal((await wake.wake(SEED.deploymentId, 2)).state, 'unavailable');
  for (const n of [3, 9]) await assert.rejects(wake.wake(SEED.deploymentId, n), { code: 'version_not_found' });
  assert.equal(stub.boots.length, 0);
}));

test('a failed wake is answered as failed, with why, instead of booting again on every request', () => withWake(async ({ wake, store, stub, advance }) => {
  await wake.wake(SEED.deploymentId, 1);
  stub.finish(new Error('version 1 did not become healthy: the app exited with code 1'));
  const failed = await waitFor(async () => {
    const answer = await wake.wake(SEED.deploymentId, 1);
    return answer.state === 'failed' ? answer : null;
  }, { description: 'the boot\'s failure recorded' });
  assert.match(failed.reason ?? '', /exited with code 1/);
  assert.equal(stub.boots.length, 1);
  const recorded = await store.db.select().from(events).where(eq(events.type, 'version.wake_failed'));
  assert.equal(recorded.length, 1);
  advance(60_000);
  stub.next();
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'starting', 'tried again after the hold');
  assert.equal(stub.boots.length, 2);
}));

test('on-demand instances stop once their version had no request for the idle time; replicas never do', () => withWake(async ({ wake, store, advance }) => {
  await seedInstance(store, { id: 'rti_woken', version: 1, state: 'healthy', failFast: false });
  await store.db.update(runtimeInstances).set({ onDemand: true }).where(eq(runtimeInstances.id, 'rti_woken'));
  wake.touch(['ver_1']);
  advance(9_000);
  assert.equal(await wake.sweep(), 0);
  wake.touch(['ver_1']);
  advance(9_999);
  assert.equal(await wake.sweep(), 0, 'a reported request restarts the idle clock');
  advance(1);
  assert.equal(await wake.sweep(), 1);
  const rows = new Map((await store.db.select().from(runtimeInstances)).map((r) => [r.id, r.desired]));
  assert.equal(rows.get('rti_woken'), 'stopped');
  assert.equal(rows.get('rti_live'), 'running');
  assert.equal((await store.db.select().from(events).where(eq(events.type, 'version.idle_stopped'))).length, 1);
}));

/** An on-demand instance of version `n`, as a finished wake leaves it. */
async function seedWoken(store: Store, instance: { id: string; version: number }, extra: Partial<typeof runtimeInstances.$inferInsert> = {}) {
  const { id } = instance;
  await seedInstance(store, { ...instance, state: 'healthy', failFast: false });
  await store.db.update(runtimeInstances).set({ onDemand: true, ...extra }).where(eq(runtimeInstances.id, id));
}

test('a wake is not a use: asking again and again does not keep an unserved version up', () => withWake(async ({ wake, store, advance }) => {
  await seedWoken(store, { id: 'rti_woken', version: 1 }, { state: 'starting' });
  wake.touch(['ver_1']);
  for (let i = 0; i < 10; i++) {
    advance(1_000);
    assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'starting');
  }
  assert.equal(await wake.sweep(), 1, 'only served requests (the edges\' reports) restart the idle clock');
}));

test('a woken instance in a crash loop answers failed; one that spent its budget is stopped and held like a failed wake', () => withWake(async ({ wake, store, stub, advance }) => {
  await seedWoken(store, { id: 'rti_looping', version: 1 }, { state: 'starting', restartCount: 3, reason: 'exited with code 1' });
  const looping = await wake.wake(SEED.deploymentId, 1);
  assert.equal(looping.state, 'failed');
  assert.match(looping.reason ?? '', /keeps crashing.*exited with code 1/);

  await store.db.update(runtimeInstances).set({ state: 'failed', restartCount: 5 }).where(eq(runtimeInstances.id, 'rti_looping'));
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'failed');
  const [row] = await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.id, 'rti_looping'));
  assert.equal(row!.desired, 'stopped');
  assert.equal((await store.db.select().from(events).where(eq(events.type, 'version.wake_failed'))).length, 1, 'why, as an event');
  assert.equal(stub.boots.length, 0);
  advance(60_000);
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'starting', 'tried again after the hold');
  assert.equal(stub.boots.length, 1);
}));

test('past the cap of woken versions, a wake stops the least recently used one first; the live version does not count', () => withWake(async ({ wake, store, stub, advance }) => {
  await store.db.update(services).set({ desiredReplicas: 0 });
  await seedWoken(store, { id: 'rti_v2', version: 2 });
  await seedWoken(store, { id: 'rti_v1', version: 1 });
  await seedWoken(store, { id: 'rti_v4', version: 4 });
  wake.touch(['ver_4']);
  advance(1_000);
  wake.touch(['ver_1', 'ver_2']);
  assert.equal((await wake.wake(SEED.deploymentId, 5)).state, 'starting');
  assert.equal(stub.boots.length, 1);
  const desired = new Map((await store.db.select().from(runtimeInstances)).map((r) => [r.id, r.desired]));
  assert.deepEqual(Object.fromEntries(desired), { rti_live: 'running', rti_v2: 'running', rti_v1: 'running', rti_v4: 'stopped' });
  const [stopped] = await store.db.select().from(events).where(eq(events.type, 'version.idle_stopped'));
  assert.equal(stopped!.versionId, 'ver_4');
  assert.match(stopped!.reason, /at most 2 versions/);
}, { maxVersions: 2 }));

test('when the other woken versions are all still booting, a wake past the cap is unavailable', () => withWake(async ({ wake, stub }) => {
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'starting');
  assert.equal((await wake.wake(SEED.deploymentId, 4)).state, 'unavailable');
  assert.equal(stub.boots.length, 1);
}, { maxVersions: 1 }));

test('once stopping (server shutdown), wakes are unavailable and boot nothing', () => withWake(async ({ wake, stub }) => {
  await wake.stop();
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'unavailable');
  assert.equal(stub.boots.length, 0);
}));

test('a version whose release garbage collection deleted is not found, not booted', () => withWake(async ({ wake, store, stub }) => {
  await store.db.update(versions).set({ artifactCollectedAt: new Date() }).where(eq(versions.id, 'ver_1'));
  await assert.rejects(wake.wake(SEED.deploymentId, 1), (err: { code?: string; details?: Record<string, unknown> }) => {
    assert.equal(err.code, 'version_not_found');
    assert.equal(err.details?.artifact_collected, true);
    return true;
  });
  assert.equal(stub.boots.length, 0);
}));

test("a suspended tenant's versions are not woken: the edge serves its suspension page instead", () => withWake(async ({ wake, store, stub }) => {
  await store.db.update(tenants).set({ state: 'suspended', suspendedAt: new Date() }).where(eq(tenants.id, SEED.tenantId));
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'unavailable');
  assert.equal(stub.boots.length, 0);
  await store.db.update(tenants).set({ state: 'active', suspendedAt: null }).where(eq(tenants.id, SEED.tenantId));
  assert.equal((await wake.wake(SEED.deploymentId, 1)).state, 'starting');
  assert.equal(stub.boots.length, 1);
}));
