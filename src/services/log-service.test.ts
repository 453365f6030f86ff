import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asc, eq } from 'drizzle-orm';
import pino from 'pino';
import { openTestStore } from '../../test/support/test-store.js';
import { instanceLogs } from '../store/schema.js';
import type { ServiceContext } from './context.js';
import { EnvService } from './env-service.js';
import { LogService } from './log-service.js';
import { Notifier } from './notifier.js';

test('the retention sweep drops lines past the age limit and past the per-deployment bound', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    const ctx = { store, notifier: new Notifier(), logger: pino({ level: 'silent' }) } as unknown as ServiceContext;
    const logs = new LogService(ctx, new EnvService(ctx), { maxAgeMs: 60_000, maxLinesPerDeployment: 3 });
    const now = Date.now();
    const row = (dep: string, line: string, ageMs: number) => ({
      tenantId: 'ten_x', deploymentId: dep, serviceId: 'svc_x', versionId: 'ver_x', runtimeInstanceId: 'rti_x', hostId: 'local',
      line, createdAt: new Date(now - ageMs),
    });
    await store.db.insert(instanceLogs).values([
      row('dep_a', 'old', 120_000),
      ...['a1', 'a2', 'a3', 'a4', 'a5'].map((l) => row('dep_a', l, 1000)),
      row('dep_b', 'b1', 1000),
    ]);
    assert.equal(await logs.sweep(now), 3, 'one too old, two over the bound');
    const left = await store.db.select().from(instanceLogs).orderBy(asc(instanceLogs.id));
    assert.deepEqual(left.filter((r) => r.deploymentId === 'dep_a').map((r) => r.line), ['a3', 'a4', 'a5']);
    assert.deepEqual(left.filter((r) => r.deploymentId === 'dep_b').map((r) => r.line), ['b1']);
    const newest = await logs.read(eq(instanceLogs.deploymentId, 'dep_a'), { limit: 2 });
    assert.deepEqual(newest.map((l) => l.line), ['a4', 'a5'], 'the newest lines, oldest first');
    const after = await logs.read(eq(instanceLogs.deploymentId, 'dep_a'), { limit: 10, afterId: Number(newest[0]!.id) });
    assert.deepEqual(after.map((l) => l.line), ['a5']);
  } finally {
    await cleanup();
  }
});
