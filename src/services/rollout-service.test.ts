import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { seedContext, seedDynamic, seedInstance, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { runtimeInstances } from '../store/schema.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';
import { RolloutService } from './rollout-service.js';
import { RouteFeed } from './route-feed.js';

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
