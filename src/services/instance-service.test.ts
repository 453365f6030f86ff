import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { seedContext, seedDynamic, seedInstance } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { runtimeInstances } from '../store/schema.js';
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
