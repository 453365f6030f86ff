import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eq } from 'drizzle-orm';
import { seedContext, seedDynamic, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { rings, runtimeInstances, versions } from '../store/schema.js';
import { waitFor } from '../util/wait-for.js';
import type { Principal } from './context.js';
import { EnvService } from './env-service.js';
import { InstanceService } from './instance-service.js';
import { RollbackService } from './rollback-service.js';
import { RolloutService, type BootOptions, type BootResult, type BootTarget } from './rollout-service.js';
import { RouteFeed } from './route-feed.js';
import { VersionService } from './version-service.js';

const principal: Principal = { keyId: 'key_t', tenantId: SEED.tenantId, projectId: null, role: 'admin' };

test('a rollback refused after it booted its version stops the instances it booted and leaves production as it was', async () => {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  const routes = new RouteFeed(ctx);
  const liveOf = async (id: string) => (await store.db.select().from(runtimeInstances).where(eq(runtimeInstances.versionId, id)))
    .filter((r) => r.desired === 'running').map((r) => r.id);
  /** Boots for real (the test plays the agent), then the version is refused under the ring lock. */
  class RefusedAfterBoot extends RolloutService {
    override async boot(version: BootTarget, options: BootOptions): Promise<BootResult> {
      const booting = super.boot(version, options);
      const [id] = await waitFor(async () => ((await liveOf(version.id)).length === 1 ? liveOf(version.id) : null), { timeoutMs: 15_000, description: 'the rollback\'s instance' });
      await store.db.update(runtimeInstances).set({ state: 'healthy' }).where(eq(runtimeInstances.id, id!));
      ctx.notifier.emit('instance', SEED.deploymentId);
      const result = await booting;
      // Garbage collection cannot take a version with a live instance; any refusal after the
      // boot (here the mark set directly) must still not leave the booted instances running.
      await store.db.update(versions).set({ artifactCollectedAt: new Date() }).where(eq(versions.id, version.id));
      return result;
    }
  }
  try {
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 2, switchedAt: new Date() });
    const rollouts = new RefusedAfterBoot(ctx, new InstanceService(ctx, new EnvService(ctx)), routes);
    const rollback = new RollbackService(ctx, new VersionService(ctx), rollouts);
    await assert.rejects(rollback.rollback(principal, 'app', { to: 1 }), { code: 'release_collected' });
    assert.deepEqual(await liveOf('ver_1'), [], 'nothing the refused rollback booted keeps running');
    const [ring] = await store.db.select().from(rings).where(eq(rings.id, SEED.ringId));
    assert.equal(ring!.activeVersionId, 'ver_2');
  } finally {
    routes.stop();
    await cleanup();
  }
});
