import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq, isNull, sql } from 'drizzle-orm';
import { SEED, seedContext, seedDynamic } from '../../../test/support/seed.js';
import { openTestStore } from '../../../test/support/test-store.js';
import { certificates, deployments, versions } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import { LocalCaService } from './local-ca-service.js';

async function withService(run: (service: LocalCaService, store: Store) => Promise<void>): Promise<void> {
  const { store, cleanup } = await openTestStore();
  try {
    // Deployment `app` of the default tenant under base `localhost`, versions 1 (active) and 2.
    await seedDynamic(store, { versions: [{ n: 1, state: 'ready' }, { n: 2, state: 'ready' }], active: 1, switchedAt: new Date() });
    await run(new LocalCaService(seedContext(store)), store);
  } finally {
    await cleanup();
  }
}

async function liveHosts(store: Store): Promise<string[]> {
  const rows = await store.db.select({ hostname: certificates.hostname }).from(certificates).where(isNull(certificates.supersededAt));
  return rows.map((r) => r.hostname).sort();
}

/** Makes every certificate look issued 70 of its 90 days ago: past two thirds, so due. */
async function backdate(store: Store): Promise<void> {
  await store.db.update(certificates).set({ notBefore: sql`${certificates.notAfter} - interval '90 days'` });
  await store.db.update(certificates).set({ notBefore: sql`${certificates.notBefore} - interval '70 days'`, notAfter: sql`${certificates.notAfter} - interval '70 days'` });
}

test('on demand, the local CA issues only for managed hosts of live deployments and versions, and writes nothing for others', () => withService(async (service, store) => {
  for (const host of ['nobody.localhost', 'app--default.localhost', 'x.app.localhost', 'app.example.com', 'v9--app.localhost', 'v2--nobody.localhost']) {
    assert.equal(await service.onDemand(host), null, host);
  }
  assert.deepEqual(await liveHosts(store), [], 'a refusal writes no certificate row');

  const first = await service.onDemand('APP.localhost');
  assert.equal(first?.hostname, 'app.localhost');
  assert.equal((await service.onDemand('app.localhost'))?.id, first.id, 'the live one is answered again, not a new one');
  assert.equal((await service.onDemand('v2--app.localhost'))?.hostname, 'v2--app.localhost');

  await store.db.update(deployments).set({ deletedAt: new Date() }).where(eq(deployments.id, SEED.deploymentId));
  assert.equal(await service.onDemand('app.localhost'), null, 'a deleted deployment gets none');
}));

test('renewal at two thirds of a certificate\'s life renews hosts still served and lets the others go', () => withService(async (service, store) => {
  const app = await service.onDemand('app.localhost');
  await service.onDemand('v2--app.localhost');
  await service.check();
  assert.equal((await store.db.select().from(certificates)).length, 2, 'nothing is due yet');

  await backdate(store);
  // Version 2's release is collected: its preview host is served no more.
  await store.db.update(versions).set({ artifactCollectedAt: new Date() }).where(eq(versions.id, 'ver_2'));
  await service.check();
  assert.deepEqual(await liveHosts(store), ['app.localhost'], 'the collected preview is superseded, not renewed');
  const [renewed] = await store.db.select().from(certificates).where(isNull(certificates.supersededAt));
  assert.notEqual(renewed?.id, app?.id, 'the served host got a new certificate');
  assert.ok(renewed!.notAfter.getTime() > Date.now() + 80 * 86_400_000);

  await store.db.update(deployments).set({ deletedAt: new Date() }).where(eq(deployments.id, SEED.deploymentId));
  await backdate(store);
  await service.check();
  assert.deepEqual(await liveHosts(store), [], 'a deleted deployment\'s host is not renewed');
}));
