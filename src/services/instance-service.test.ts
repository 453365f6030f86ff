import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { seedContext, seedDynamic, seedInstance } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { events, runtimeInstances } from '../store/schema.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';

test('at server start: a rollout nobody waits for is stopped, a promoted unsettled one settled, a building one left', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    // v1 was promoted just before a crash (its instances still fail-fast); a cold rollback to v2
    // was cut short; v3 is still building, so the build worker will resume its rollout.
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }, { n: 3, state: 'building' }], active: 1, switchedAt: new Date() });
    await seedInstance(store, { id: 'rti_promoted', version: 1, state: 'healthy', failFast: true });
    await seedInstance(store, { id: 'rti_orphan', version: 2, state: 'starting', failFast: true });
    await seedInstance(store, { id: 'rti_building', version: 3, state: 'starting', failFast: true });
    await seedInstance(store, { id: 'rti_settled', version: 1, state: 'healthy', failFast: false });
    const ctx = seedContext(store);
    const assignments: string[] = [];
    ctx.notifier.on('assignments', (host) => assignments.push(host));
    const instances = new InstanceService(ctx, new EnvService(ctx));

    assert.equal(await instances.stopOrphanedRollouts(), 1);
    const rows = new Map((await store.db.select().from(runtimeInstances)).map((r) => [r.id, r]));
    assert.equal(rows.get('rti_orphan')!.desired, 'stopped');
    assert.match(rows.get('rti_orphan')!.reason, /interrupted by a server restart/);
    assert.deepEqual([rows.get('rti_promoted')!.desired, rows.get('rti_promoted')!.failFast], ['running', false], 'serving production: restarts on exit from now on');
    assert.deepEqual([rows.get('rti_building')!.desired, rows.get('rti_building')!.failFast], ['running', true], 'left to the resumed build');
    assert.equal(rows.get('rti_settled')!.desired, 'running');
    assert.ok(assignments.length > 0, 'the agents are told');

    // Run again (a second restart): nothing left to do.
    assert.equal(await instances.stopOrphanedRollouts(), 0);
    const [orphan] = await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.id, 'rti_orphan'));
    assert.equal(orphan!.desired, 'stopped');
  } finally {
    await cleanup();
  }
});

test('instance events name the instance: its id, which replica it is and its address, in the data and the reason', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }], active: 1, switchedAt: new Date() });
    await seedInstance(store, { id: 'rti_a', version: 1, state: 'healthy', failFast: false });
    await seedInstance(store, { id: 'rti_b', version: 1, state: 'healthy', failFast: false });
    await store.db.update(runtimeInstances).set({ address: '10.9.0.6:3000' }).where(eq(runtimeInstances.id, 'rti_b'));
    const ctx = seedContext(store);
    const instances = new InstanceService(ctx, new EnvService(ctx));
    // rti_b dies: it has no address in the report any more, so its last known one is named.
    await instances.report('local', { runtime_instance_id: 'rti_b', state: 'starting', address: null, reason: 'exited with code 137; restarting in 1 s', reason_code: 'exited', restart_count: 1 });
    const [event] = await store.db.select().from(events).where(eq(events.type, 'instance.starting'));
    assert.equal(event!.reason, 'rti_b (replica 2 of 2 at 10.9.0.6:3000): exited with code 137; restarting in 1 s');
    assert.deepEqual(
      { id: event!.data.runtime_instance_id, replica: event!.data.replica, replicas: event!.data.replicas, address: event!.data.address },
      { id: 'rti_b', replica: 2, replicas: 2, address: '10.9.0.6:3000' },
    );
  } finally {
    await cleanup();
  }
});

test('a resync (notifications from other servers lost) makes waiting agents re-read their assignments', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    const ctx = seedContext(store);
    const instances = new InstanceService(ctx, new EnvService(ctx));
    const seen = instances.currentRevision;
    const started = Date.now();
    const waiting = instances.waitForChange(seen, 20_000);
    ctx.notifier.emit('resync', 'test');
    assert.notEqual(await waiting, seen, 'a new revision, so the agent fetches its assignments again');
    assert.ok(Date.now() - started < 10_000, 'answered on the resync, not at the end of the long poll');
  } finally {
    await cleanup();
  }
});
