// Review fixes of issue 11's domains: host collisions across and within tenants (under a lock),
// releases that record events and supersede certificates, the verify throttle, per-row claims
// of due checks, and Unicode names found again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { and, eq, inArray } from 'drizzle-orm';
import { isSlipwayError, type ErrorCode } from '../core/errors.js';
import { deployments, domains, events, projects, tenants } from '../store/schema.js';
import { startTestDns, type TestDns } from '../../test/support/dns-server.js';
import { SEED, seedContext, seedDeployment } from '../../test/support/seed.js';
import { openTestStore, type TestStore } from '../../test/support/test-store.js';
import type { Principal, ServiceContext } from './context.js';
import { DeploymentService } from './deployment-service.js';
import { CHECK_LEASE_MS, DomainService, VERIFY_THROTTLE_MS } from './domain-service.js';
import { createDomainResolver } from './domains/verify-dns.js';
import { EnvService } from './env-service.js';
import { currentCertificateRevision, liveCertificatesFor, saveCertificate } from './tls/certificate-store.js';

const A: Principal = { keyId: 'key_a', tenantId: SEED.tenantId, projectId: null, role: 'admin' };
const B: Principal = { keyId: 'key_b', tenantId: 'ten_cb', projectId: null, role: 'admin' };

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, label = ''): Promise<void> {
  await assert.rejects(promise, (err) => (isSlipwayError(err) && err.code === code ? true : assert.fail(`${label}: expected ${code}, got ${String(err)}`)));
}

describe('DomainService claims, releases and checks on a real store', () => {
  let ts: TestStore;
  let dns: TestDns;
  let ctx: ServiceContext;
  let service: DomainService;

  before(async () => {
    ts = await openTestStore();
    dns = await startTestDns();
    await seedDeployment(ts.store);
    const now = new Date();
    await ts.store.db.insert(tenants).values({ id: 'ten_cb', name: 'brand', slug: 'brand', displayName: 'Brand', createdAt: now });
    await ts.store.db.insert(projects).values({ id: 'prj_cb', tenantId: 'ten_cb', name: 'p', createdAt: now });
    await ts.store.db.insert(deployments).values({
      id: 'dep_cb', tenantId: 'ten_cb', projectId: 'prj_cb', slug: 'app', name: 'app', spaFallback: false, nextVersionNumber: 1, createdAt: now, updatedAt: now,
    });
    ctx = seedContext(ts.store);
    // Nothing listens on port 9 of loopback: the HTTP check fails fast.
    service = new DomainService(ctx, { resolver: createDomainResolver([dns.server]), httpPort: 9, allowPrivate: true });
  });
  after(async () => {
    await dns?.close();
    await ts?.cleanup();
  });

  it("refuses a base above another tenant's names, and any name under another tenant's base", async () => {
    const deep = await service.add(B, 'app', { hostname: 'deep.shop.brand-one.test' });
    await rejectsWith(service.addTenantBase(A, { hostname: 'brand-one.test' }), 'domain_taken', 'base above a custom name');
    await rejectsWith(service.addTenantBase(A, { hostname: 'shop.brand-one.test' }), 'domain_taken', 'base right above it');
    const base = await service.addTenantBase(B, { hostname: 'apps.brand-two.test' });
    await rejectsWith(service.addTenantBase(A, { hostname: 'brand-two.test' }), 'domain_taken', 'base above a base');
    await rejectsWith(service.add(A, 'app', { hostname: 'x.apps.brand-two.test' }), 'domain_taken', 'directly under a base');
    await rejectsWith(service.add(A, 'app', { hostname: 'a.b.apps.brand-two.test' }), 'domain_taken', 'two levels under a base');
    await rejectsWith(service.addTenantBase(A, { hostname: 'x.apps.brand-two.test' }), 'domain_taken', 'a base under a base');
    // The tenant's own names do not block it, and a sibling is free.
    const own = await service.add(B, 'app', { hostname: 'www.apps.brand-two.test' });
    const sibling = await service.add(A, 'app', { hostname: 'other.brand-two.test' });
    for (const [p, d] of [[B, deep], [B, base], [B, own], [A, sibling]] as const) await service.remove(p, d.id!);
    // Released, the base is anyone's.
    const mine = await service.addTenantBase(A, { hostname: 'brand-one.test' });
    await service.remove(A, mine.id!);
  });

  it('refuses a custom name that is already <slug>.<base> of the same tenant', async () => {
    const base = await service.addTenantBase(A, { hostname: 'apps.mine.test' });
    await rejectsWith(service.add(A, 'app', { hostname: 'app.apps.mine.test' }), 'domain_exists');
    const other = await service.add(A, 'app', { hostname: 'nodeployment.apps.mine.test' });
    await service.remove(A, other.id!);
    await service.remove(A, base.id!);
    // The other order: the custom name first, then a base that would make it a second host.
    const custom = await service.add(A, 'app', { hostname: 'app.later.mine.test' });
    await rejectsWith(service.addTenantBase(A, { hostname: 'later.mine.test' }), 'domain_exists');
    await service.remove(A, custom.id!);
  });

  it('runs claims one at a time: of racing claims of a base and a base under it, one wins', async () => {
    for (let i = 0; i < 5; i++) {
      // The same path through the service for both, so without the lock their checks would both run before either insert.
      const results = await Promise.allSettled([
        service.addTenantBase(B, { hostname: `race${i}.test` }),
        service.addTenantBase(A, { hostname: `x.race${i}.test` }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
      const rejected = results.find((r) => r.status === 'rejected')!;
      assert.ok(isSlipwayError(rejected.reason) && rejected.reason.code === 'domain_taken', String(rejected.reason));
      for (const [n, r] of results.entries()) if (r.status === 'fulfilled') await service.remove(n === 0 ? B : A, r.value.id!);
    }
  });

  it("a released domain's certificate is no longer live, and the release is an event", async () => {
    const d = await service.add(A, 'app', { hostname: 'certified.example.test' });
    const now = Date.now();
    await saveCertificate(ts.store.db, ctx.secrets, {
      hostname: 'certified.example.test', tenantId: A.tenantId, issuer: 'local_ca', certPem: 'CERT', keyPem: 'KEY',
      notBefore: new Date(now - 60_000), notAfter: new Date(now + 86_400_000),
    });
    assert.equal((await liveCertificatesFor(ts.store.db, ctx.secrets, { hostname: 'certified.example.test' })).length, 1);
    const revision = await currentCertificateRevision(ts.store.db);
    const told: string[] = [];
    const off = ctx.notifier.on('certificates', (r) => told.push(r));
    await service.remove(A, d.id!);
    off();
    assert.deepEqual(await liveCertificatesFor(ts.store.db, ctx.secrets, { hostname: 'certified.example.test' }), []);
    assert.equal(await currentCertificateRevision(ts.store.db), revision + 1);
    assert.deepEqual(told, [String(revision + 1)], 'the edges are told after the commit');
  });

  it("deleting a deployment records domain.removed for its domains and supersedes their certificates", async () => {
    const now = new Date();
    await ts.store.db.insert(deployments).values({
      id: 'dep_cgone', tenantId: A.tenantId, projectId: SEED.projectId, slug: 'cgone', name: 'cgone', spaFallback: false, nextVersionNumber: 1, createdAt: now, updatedAt: now,
    });
    const d = await service.add(A, 'cgone', { hostname: 'cgone.example.test' });
    await saveCertificate(ts.store.db, ctx.secrets, {
      hostname: 'cgone.example.test', tenantId: A.tenantId, issuer: 'local_ca', certPem: 'CERT', keyPem: 'KEY',
      notBefore: new Date(now.getTime() - 60_000), notAfter: new Date(now.getTime() + 86_400_000),
    });
    await new DeploymentService(ctx, new EnvService(ctx)).remove(A, 'cgone');
    const removed = await ts.store.db.select().from(events).where(and(eq(events.type, 'domain.removed'), eq(events.deploymentId, 'dep_cgone')));
    assert.deepEqual(removed.map((e) => (e.data as { domain_id: string }).domain_id), [d.id]);
    assert.deepEqual(await liveCertificatesFor(ts.store.db, ctx.secrets, { hostname: 'cgone.example.test' }), []);
  });

  it('a verify within 10 s of the last check answers that check without checking again', async () => {
    const d = await service.add(A, 'app', { hostname: 'throttled.example.test' });
    const first = await service.verify(A, d.id!);
    assert.equal(first.state, 'pending_verification');
    assert.ok(first.last_checked_at !== null);
    dns.setTxt('_slipway-challenge.throttled.example.test', [d.verification!.dns.value]);
    const again = await service.verify(A, d.id!);
    assert.equal(again.state, 'pending_verification', 'not checked again');
    assert.equal(again.last_checked_at, first.last_checked_at);
    const later = new Date(Date.parse(first.last_checked_at!) + VERIFY_THROTTLE_MS + 1);
    assert.equal((await service.verify(A, d.id!, later)).state, 'verified');
    await service.remove(A, d.id!);
  });

  it('claims due checks one row at a time: concurrent claims are disjoint, and a lapsed lease is claimed again', async () => {
    const added = await Promise.all(['due1', 'due2', 'due3'].map((h) => service.add(A, 'app', { hostname: `${h}.example.test` })));
    const ids = added.map((d) => d.id!);
    const now = new Date(Date.now() + 11_000);
    const claimed = await Promise.all([service.claimDue(now), service.claimDue(now), service.claimDue(now), service.claimDue(now)]);
    const got = claimed.filter((r) => r !== undefined).map((r) => r.id);
    assert.deepEqual([...got].sort(), [...ids].sort(), 'each due row claimed once, the fourth claim finds none');
    assert.equal(await service.claimDue(now), undefined, 'leased rows are not due');
    const lapsed = new Date(now.getTime() + CHECK_LEASE_MS + 1);
    const again = await Promise.all([service.claimDue(lapsed), service.claimDue(lapsed), service.claimDue(lapsed)]);
    assert.deepEqual(again.map((r) => r?.id).sort(), [...ids].sort(), 'a server that died mid-check leaves its rows to others');
    // Two passes at once check each row once (at the real time: a failed check's next one is 10 s away).
    await ts.store.db.update(domains).set({ nextCheckAt: new Date(0) }).where(inArray(domains.id, ids));
    const [x, y] = await Promise.all([service.checkDue(), service.checkDue()]);
    assert.equal(x + y, 3);
    const rows = await ts.store.db.select({ attempts: domains.checkAttempts }).from(domains).where(inArray(domains.id, ids));
    assert.deepEqual(rows.map((r) => r.attempts), [1, 1, 1]);
    for (const id of ids) await service.remove(A, id);
  });

  it('finds a Unicode name again by its Unicode spelling', async () => {
    const d = await service.add(A, 'app', { hostname: 'Bücher.test' });
    assert.equal(d.hostname, 'xn--bcher-kva.test');
    assert.equal((await service.get(A, 'Bücher.test')).id, d.id);
    assert.equal((await service.history(A, 'BÜCHER.test', new Date())).hostname, 'xn--bcher-kva.test');
    await service.remove(A, 'Bücher.test');
  });
});
