import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { isSlipwayError, type ErrorCode } from '../core/errors.js';
import { deployments, domains, events, projects, tenants } from '../store/schema.js';
import { startTestDns, type TestDns } from '../../test/support/dns-server.js';
import { SEED, seedContext, seedDeployment } from '../../test/support/seed.js';
import { openTestStore, type TestStore } from '../../test/support/test-store.js';
import type { Principal, ServiceContext } from './context.js';
import { DeploymentService } from './deployment-service.js';
import { DomainService } from './domain-service.js';
import { EnvService } from './env-service.js';
import { createDomainResolver } from './domains/verify-dns.js';
import { RouteFeed } from './route-feed.js';
import { currentRouteRevision } from './route-log.js';

const A: Principal = { keyId: 'key_a', tenantId: SEED.tenantId, projectId: null, role: 'admin' };
const B: Principal = { keyId: 'key_b', tenantId: 'ten_b', projectId: null, role: 'admin' };
const READER: Principal = { ...A, keyId: 'key_r', role: 'read_only' };

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err) => isSlipwayError(err) && err.code === code ? true : assert.fail(`expected ${code}, got ${String(err)}`));
}

describe('DomainService on a real store', () => {
  let ts: TestStore;
  let dns: TestDns;
  let ctx: ServiceContext;
  let service: DomainService;

  before(async () => {
    ts = await openTestStore();
    dns = await startTestDns();
    await seedDeployment(ts.store);
    const now = new Date();
    await ts.store.db.insert(tenants).values({ id: 'ten_b', name: 'brand', slug: 'brand', displayName: 'Brand', createdAt: now });
    await ts.store.db.insert(projects).values({ id: 'prj_b', tenantId: 'ten_b', name: 'p', createdAt: now });
    await ts.store.db.insert(deployments).values({
      id: 'dep_b', tenantId: 'ten_b', projectId: 'prj_b', slug: 'app', name: 'app', spaFallback: false, nextVersionNumber: 1, createdAt: now, updatedAt: now,
    });
    ctx = seedContext(ts.store);
    // Nothing listens on port 9 of loopback: the HTTP check fails fast.
    service = new DomainService(ctx, { resolver: createDomainResolver([dns.server]), httpPort: 9, allowPrivate: true });
  });
  after(async () => {
    await dns?.close();
    await ts?.cleanup();
  });

  it("refuses another tenant's host as domain_taken, its own twice as domain_exists, and hides foreign ids", async () => {
    const theirs = await service.add(B, 'app', { hostname: 'www.shop.test' });
    await rejectsWith(service.add(A, 'app', { hostname: 'WWW.shop.test' }), 'domain_taken');
    await rejectsWith(service.add(B, 'app', { hostname: 'www.shop.test' }), 'domain_exists');
    for (const call of [() => service.get(A, theirs.id!), () => service.verify(A, theirs.id!), () => service.remove(A, theirs.id!), () => service.get(A, 'www.shop.test'),
      () => service.update(A, theirs.id!, { https_redirect: true }), () => service.history(A, theirs.id!, new Date())]) {
      await rejectsWith(call(), 'domain_not_found');
    }
    // Released, it can be claimed by anyone.
    await service.remove(B, theirs.id!);
    const mine = await service.add(A, 'app', { hostname: 'www.shop.test' });
    assert.equal(mine.state, 'pending_verification');
    await service.remove(A, mine.id!);
  });

  it('a read-only key reads but never claims, verifies or removes', async () => {
    await rejectsWith(service.add(READER, 'app', { hostname: 'ro.example.test' }), 'forbidden');
    const d = await service.add(A, 'app', { hostname: 'ro.example.test' });
    await rejectsWith(service.verify(READER, d.id!), 'forbidden');
    await rejectsWith(service.remove(READER, d.id!), 'forbidden');
    assert.equal((await service.list(READER, 'app')).some((x) => x.hostname === 'ro.example.test'), true);
    await service.remove(A, d.id!);
  });

  it("a name under another tenant's base is taken; the managed host is not removable", async () => {
    const base = await service.addTenantBase(B, { hostname: 'apps.brand.test' });
    await rejectsWith(service.add(A, 'app', { hostname: 'x.apps.brand.test' }), 'domain_taken');
    await rejectsWith(service.remove(A, 'app.localhost'), 'domain_not_removable');
    await rejectsWith(service.add(A, 'app', { hostname: 'other.localhost' }), 'invalid_hostname');
    await service.remove(B, base.id!);
  });

  it('verification serves the hosts in the routes and records one route change per deployment touched', async () => {
    const feed = new RouteFeed(ctx);
    const custom = await service.add(A, 'app', { hostname: 'www.clinic.test', redirect_to: 'Clinic.test', hsts_max_age: 600 });
    const base = await service.addTenantBase(B, { hostname: 'apps.brand.test' });
    const before = await currentRouteRevision(ts.store.db);
    const failed = await service.verify(A, custom.id!);
    assert.equal(failed.state, 'pending_verification');
    assert.equal(failed.error?.code, 'verification_failed');
    assert.match(failed.error!.message, new RegExp(`^expected TXT _slipway-challenge\\.www\\.clinic\\.test = "${custom.verification!.dns.value}", found: none;`));
    assert.equal(await currentRouteRevision(ts.store.db), before, 'a failed check changes no route');

    dns.setTxt('_slipway-challenge.www.clinic.test', [custom.verification!.dns.value]);
    dns.setTxt('_slipway-challenge.apps.brand.test', [base.verification!.dns.value]);
    // Past the verify throttle (10 s since the failed check).
    assert.equal((await service.verify(A, 'www.clinic.test', new Date(Date.now() + 11_000))).state, 'verified');
    assert.equal((await service.verify(B, base.id!)).verified_by, 'dns');
    assert.equal(await currentRouteRevision(ts.store.db), before + 2);

    const routes = new Map((await feed.load()).map((r) => [r.deployment_id, r]));
    assert.deepEqual(routes.get(SEED.deploymentId)?.hosts, [{ name: 'www.clinic.test', redirect_to: 'clinic.test', hsts_max_age: 600 }]);
    assert.deepEqual(routes.get('dep_b')?.hosts, [{ name: 'app.apps.brand.test' }]);
    assert.equal(routes.get('dep_b')?.label, 'app--brand');
    assert.deepEqual((await service.list(B, 'app')).map((d) => [d.kind, d.hostname, d.removable]), [
      ['managed', 'app--brand.localhost', false], ['tenant', 'app.apps.brand.test', false],
    ]);

    await service.remove(A, custom.id!);
    await service.remove(B, base.id!);
    const after = new Map((await feed.load()).map((r) => [r.deployment_id, r]));
    assert.equal(after.get(SEED.deploymentId)?.hosts, undefined);
    assert.equal(after.get('dep_b')?.hosts, undefined);
    feed.stop();
  });

  it('the checker retries due checks with backoff and gives up after the window', async () => {
    const d = await service.add(A, 'app', { hostname: 'slow.example.test' });
    assert.equal(await service.checkDue(new Date()), 0, 'not due before its first delay');
    const later = new Date(Date.now() + 11_000);
    assert.equal(await service.checkDue(later), 1);
    let [row] = await ts.store.db.select().from(domains).where(eq(domains.id, d.id!));
    assert.equal(row!.checkAttempts, 1);
    assert.equal(row!.errorCode, 'verification_failed');
    assert.ok(row!.nextCheckAt!.getTime() >= Date.now() + 9_000, 'next check backed off');

    await ts.store.db.update(domains).set({ createdAt: new Date(Date.now() - 73 * 3600_000), nextCheckAt: new Date(0) }).where(eq(domains.id, d.id!));
    assert.equal(await service.checkDue(), 1);
    [row] = await ts.store.db.select().from(domains).where(eq(domains.id, d.id!));
    assert.equal(row!.state, 'error');
    assert.equal(row!.errorCode, 'verification_expired');
    assert.equal(row!.nextCheckAt, null);
    assert.equal(await service.checkDue(new Date(Date.now() + 86_400_000)), 0, 'an expired domain is not checked again by itself');
    await service.remove(A, d.id!);
  });

  it("deleting a deployment releases its custom domains", async () => {
    const now = new Date();
    await ts.store.db.insert(deployments).values({
      id: 'dep_gone', tenantId: A.tenantId, projectId: SEED.projectId, slug: 'gone', name: 'gone', spaFallback: false, nextVersionNumber: 1, createdAt: now, updatedAt: now,
    });
    const d = await service.add(A, 'gone', { hostname: 'gone.example.test' });
    await new DeploymentService(ctx, new EnvService(ctx)).remove(A, 'gone');
    await rejectsWith(service.get(A, d.id!), 'domain_not_found');
    const claimed = await service.add(B, 'app', { hostname: 'gone.example.test' });
    await service.remove(B, claimed.id!);
  });

  it('answers what a host served at a time from the events', async () => {
    const d = await service.add(A, 'app', { hostname: 'history.example.test' });
    dns.setTxt('_slipway-challenge.history.example.test', [d.verification!.dns.value]);
    const at = (iso: string) => new Date(iso);
    // Events with chosen times: verified at 10:00, version 1 at 09:00, version 2 at 12:00, removed at 14:00.
    await service.verify(A, d.id!);
    await ts.store.db.update(events).set({ createdAt: at('2026-01-01T10:00:00Z') }).where(eq(events.type, 'domain.verified'));
    await ts.store.db.insert(events).values([
      { id: 'evt_h1', tenantId: A.tenantId, deploymentId: SEED.deploymentId, versionId: 'ver_1', type: 'deployment.promoted', actor: 'system', reason: '', data: { version_number: 1 }, createdAt: at('2026-01-01T09:00:00Z') },
      { id: 'evt_h2', tenantId: A.tenantId, deploymentId: SEED.deploymentId, versionId: 'ver_2', type: 'deployment.promoted', actor: 'system', reason: '', data: { version_number: 2 }, createdAt: at('2026-01-01T12:00:00Z') },
    ]);
    await service.remove(A, d.id!);
    await ts.store.db.update(events).set({ createdAt: at('2026-01-01T14:00:00Z') }).where(eq(events.type, 'domain.removed'));
    const served = async (iso: string) => {
      const h = await service.history(A, 'history.example.test', at(iso));
      return [h.deployment_slug, h.version_number];
    };
    assert.deepEqual(await served('2026-01-01T09:30:00Z'), [null, null]);
    assert.deepEqual(await served('2026-01-01T11:00:00Z'), ['app', 1]);
    assert.deepEqual(await served('2026-01-01T13:00:00Z'), ['app', 2]);
    assert.deepEqual(await served('2026-01-01T15:00:00Z'), [null, null]);
    await rejectsWith(service.history(A, 'never.example.test', new Date()), 'domain_not_found');
  });
});
