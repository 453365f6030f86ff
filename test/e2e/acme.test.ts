/**
 * ACME issuance against Debian's pebble with a real store: a verified custom domain gets a
 * certificate that serves HTTPS for its host, the allow-check places no order for unverified
 * or unknown hosts nor for a suspended tenant, a failed order (or an unreadable certificate)
 * backs off, renewal happens at two thirds of the lifetime, an expiry after failing renewals
 * is reported, a released host's certificate stops being live, and the rate limits hold. The HTTP-01 answer is served by a small HTTP server over
 * `findChallengeAnswer`, the lookup the edge's challenge handler reaches through the server.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer as createHttpServer, type Server } from 'node:http';
import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { and, eq, isNull } from 'drizzle-orm';
import { SlipwayError } from '../../src/core/errors.js';
import { findChallengeAnswer } from '../../src/services/challenge-answers.js';
import type { ServiceContext } from '../../src/services/context.js';
import type { AcmeCa } from '../../src/services/tls/acme-ca.js';
import { createAcmeClientCa } from '../../src/services/tls/acme-client-ca.js';
import { AcmeService } from '../../src/services/tls/acme-service.js';
import { releaseDeploymentDomains } from '../../src/services/domains/domain-release.js';
import { liveCertificates, liveCertificatesFor } from '../../src/services/tls/certificate-store.js';
import { acmeChallenges, acmeOrders, certificates, domains, events, tenants } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { waitFor } from '../../src/util/wait-for.js';
import { SEED, seedContext, seedDeployment } from '../support/seed.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

const VALIDITY_S = 3600;

let pebble: Pebble;
let challengeServer: Server;
/** Hosts whose challenges the stand-in for the edge refuses to answer (a broken edge). */
const broken = new Set<string>();

before(async () => {
  challengeServer = createHttpServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    if (!token || broken.has(host) || !current) return void res.writeHead(404).end();
    findChallengeAnswer(current.store.db, token, host).then(
      (answer) => (answer === null ? res.writeHead(404).end() : res.writeHead(200, { 'content-type': 'text/plain' }).end(answer.body)),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => challengeServer.listen(0, '127.0.0.1', resolve));
  pebble = await startPebble({ httpPort: (challengeServer.address() as AddressInfo).port, certificateValiditySeconds: VALIDITY_S });
});

after(async () => {
  await pebble?.stop();
  await new Promise((resolve) => challengeServer?.close(resolve));
});

/** The store of the running test, for the challenge server. */
let current: TestStore | undefined;

interface Harness {
  store: Store;
  ctx: ServiceContext;
  acme: AcmeService;
  /** `order` calls that reached the CA client. */
  orders: () => number;
  clock: { ms: number };
}

async function withAcme(
  fn: (h: Harness) => Promise<void>, limits = { maxOrdersPerHour: 100, maxOrdersPerTenantPerHour: 100 }, wrapCa: (ca: AcmeCa) => AcmeCa = (ca) => ca,
): Promise<void> {
  const testStore = await openTestStore();
  current = testStore;
  const { store } = testStore;
  const ctx = seedContext(store);
  const real = createAcmeClientCa({ directoryUrl: pebble.directoryUrl, extraCaPem: await readFile(pebble.caFile, 'utf8'), poll: { minMs: 50, maxMs: 500, attempts: 20 } });
  let orders = 0;
  // Counts the orders that reach the CA client, besides pebble's own log.
  const ca = wrapCa({ ...real, directoryUrl: real.directoryUrl, order: (r) => { orders += 1; return real.order(r); } });
  const clock = { ms: Date.now() };
  const acme = new AcmeService(ctx, ca, { limits, checkIntervalMs: 60_000, now: () => new Date(clock.ms) });
  try {
    await seedDeployment(store);
    await fn({ store, ctx, acme, orders: () => orders, clock });
  } finally {
    await acme.stop();
    current = undefined;
    await testStore.cleanup();
  }
}

let domainSeq = 0;
async function addDomain(store: Store, hostname: string, o: { state: 'pending_verification' | 'verified'; kind?: 'custom' | 'tenant' }): Promise<string> {
  const { state, kind = 'custom' } = o;
  const id = `dom_test${++domainSeq}`;
  const now = new Date();
  await store.db.insert(domains).values({
    id, tenantId: SEED.tenantId, deploymentId: kind === 'custom' ? SEED.deploymentId : null, kind, hostname, state,
    verificationToken: 'token', createdBy: 'key_t', createdAt: now, updatedAt: now, ...(state === 'verified' ? { verifiedAt: now, verifiedBy: 'dns' as const } : {}),
  });
  return id;
}

async function domainRow(store: Store, id: string) {
  const [row] = await store.db.select().from(domains).where(eq(domains.id, id));
  return row!;
}

/** GET https://<host>/ from a real HTTPS server holding the stored certificate, trusting only pebble's root. */
async function serveOverHttps(ctx: ServiceContext, host: string): Promise<number> {
  const cert = (await liveCertificates(ctx.store.db, ctx.secrets)).find((c) => c.hostname === host);
  assert.ok(cert, `a live certificate for ${host}`);
  const server = createHttpsServer({ cert: cert.cert_pem, key: cert.key_pem }, (_req, res) => res.end('app'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const root = await pebble.issuingRoot();
    return await new Promise<number>((resolve, reject) => {
      httpsRequest({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: host, headers: { host }, ca: root, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject).end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('a verified custom domain gets a certificate from the ACME CA and becomes active', async () => {
  await withAcme(async ({ store, ctx, acme }) => {
    const id = await addDomain(store, 'www.clinic.test', { state: 'verified' });
    const revisions: string[] = [];
    ctx.notifier.on('certificates', (r) => revisions.push(r));
    const results = await acme.scheduler.runOnce();
    assert.equal(results.length, 1);
    assert.equal(results[0]!.outcome.state, 'issued', JSON.stringify(results[0]));
    const d = await domainRow(store, id);
    assert.equal(d.state, 'active');
    assert.equal(d.tlsState, 'issued');
    assert.equal(d.tlsError, null);
    const rows = await store.db.select().from(certificates).where(eq(certificates.hostname, 'www.clinic.test'));
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.issuer, 'acme');
    assert.equal(rows[0]!.tenantId, SEED.tenantId);
    assert.equal(revisions.length, 1, 'certificates announced on the notifier');
    const [event] = await store.db.select().from(events).where(eq(events.type, 'domain.certificate_issued'));
    assert.ok(event && typeof event.data.serial === 'string' && typeof event.data.not_after === 'string');
    assert.equal((await store.db.select().from(acmeChallenges)).length, 0, 'challenge answers are withdrawn');
    // The certificate is real: an HTTPS server with it is trusted for the host by pebble's root.
    assert.equal(await serveOverHttps(ctx, 'www.clinic.test'), 200);
    // Nothing further is due until renewal.
    const again = await acme.scheduler.runOnce();
    assert.deepEqual(again, []);
  });
});

test('on demand: an unverified or unknown host places no order; a verified one does', async () => {
  await withAcme(async ({ store, acme, orders }) => {
    await addDomain(store, 'pending.clinic.test', { state: 'pending_verification' });
    await addDomain(store, 'brand.test', { state: 'pending_verification', kind: 'tenant' });
    const before = pebble.ordersPlaced();
    for (const host of ['pending.clinic.test', 'nobody.example.test', 'app.brand.test', 'clinic.test']) {
      await assert.rejects(acme.demand(host), (err: unknown) => err instanceof SlipwayError && err.code === 'domain_not_found', host);
    }
    assert.equal(orders(), 0);
    assert.equal((await store.db.select().from(acmeOrders)).length, 0);
    assert.equal(pebble.ordersPlaced(), before, 'pebble saw no order');
    // The control: a verified host does place one, which both counters see.
    await addDomain(store, 'ok.clinic.test', { state: 'verified' });
    assert.deepEqual(await acme.demand('ok.clinic.test'), { state: 'issuing' });
    await acme.stop();
    assert.equal(orders(), 1);
    // Pebble's log is read from a pipe: wait for the control's line, then no more than it.
    await waitFor(() => pebble.ordersPlaced() > before, { description: 'pebble logging the order' });
    assert.equal(pebble.ordersPlaced(), before + 1);
    assert.deepEqual(await acme.demand('ok.clinic.test'), { state: 'issued' });
  });
});

test('on demand: <slug>.<verified tenant base> of a live deployment is allowed, another slug is not', async () => {
  await withAcme(async ({ store, acme, orders }) => {
    await addDomain(store, 'apps.brand.test', { state: 'verified', kind: 'tenant' });
    await assert.rejects(acme.demand('other.apps.brand.test'), (err: unknown) => err instanceof SlipwayError && err.code === 'domain_not_found');
    assert.equal(orders(), 0);
    assert.deepEqual(await acme.demand('app.apps.brand.test'), { state: 'issuing' });
    await acme.stop();
    const [cert] = await store.db.select().from(certificates).where(and(eq(certificates.hostname, 'app.apps.brand.test'), isNull(certificates.supersededAt)));
    assert.equal(cert?.issuer, 'acme');
  });
});

test('the edge\'s on-demand request gets a tenant-base host its certificate, which the scheduler renews at two thirds', async () => {
  await withAcme(async ({ store, acme, orders, clock }) => {
    await addDomain(store, 'apps.brand.test', { state: 'verified', kind: 'tenant' });
    assert.equal(await acme.certificateForEdge('other.apps.brand.test'), null, 'refused: no such slug');
    const served = await acme.certificateForEdge('app.apps.brand.test', 20_000);
    assert.equal(served?.hostname, 'app.apps.brand.test');
    assert.match(served?.key_pem ?? '', /PRIVATE KEY/);
    assert.equal(orders(), 1);
    const [cert] = await store.db.select().from(certificates).where(eq(certificates.hostname, 'app.apps.brand.test'));
    const lifetime = cert!.notAfter.getTime() - cert!.notBefore.getTime();
    clock.ms = cert!.notBefore.getTime() + lifetime * 0.6;
    assert.deepEqual(await acme.scheduler.runOnce(), []);
    clock.ms = cert!.notBefore.getTime() + lifetime * 0.67;
    const [renewed] = await acme.scheduler.runOnce();
    assert.deepEqual([renewed?.hostname, renewed?.outcome.state], ['app.apps.brand.test', 'issued']);
    assert.equal(orders(), 2);
  });
});

test('a failed order reports the CA message on the domain and retries with backoff', async () => {
  await withAcme(async ({ store, acme, orders, clock }) => {
    const id = await addDomain(store, 'broken.clinic.test', { state: 'verified' });
    broken.add('broken.clinic.test');
    try {
      const [result] = await acme.scheduler.runOnce();
      assert.equal(result!.outcome.state, 'failed');
      const d = await domainRow(store, id);
      assert.equal(d.tlsState, 'error');
      assert.equal(d.state, 'verified', 'ownership stands; only the certificate failed');
      assert.match(d.tlsError ?? '', /key authorization|404|did not match/i, 'the CA\'s message');
      assert.equal(d.tlsAttempts, 1);
      assert.equal(d.tlsNextAttemptAt?.getTime(), clock.ms + 60_000);
      const [event] = await store.db.select().from(events).where(eq(events.type, 'domain.certificate_failed'));
      assert.equal(event?.data.error, d.tlsError);
      // Within the backoff nothing is ordered, not even on demand.
      assert.deepEqual(await acme.scheduler.runOnce(), []);
      assert.equal((await acme.demand('broken.clinic.test')).state, 'retry_later');
      assert.equal(orders(), 1);
      // Past it, the next attempt runs (and fails again: 5 minutes next).
      clock.ms += 61_000;
      const [second] = await acme.scheduler.runOnce();
      assert.equal(second!.outcome.state, 'failed');
      assert.equal(orders(), 2);
      const d2 = await domainRow(store, id);
      assert.equal(d2.tlsAttempts, 2);
      assert.equal(d2.tlsNextAttemptAt?.getTime(), clock.ms + 5 * 60_000);
      // Fixed: the next attempt succeeds and clears the error.
      broken.delete('broken.clinic.test');
      clock.ms += 5 * 60_000;
      const [third] = await acme.scheduler.runOnce();
      assert.equal(third!.outcome.state, 'issued');
      const d3 = await domainRow(store, id);
      assert.equal(d3.tlsState, 'issued');
      assert.equal(d3.tlsAttempts, 0);
      assert.equal(d3.tlsError, null);
    } finally {
      broken.delete('broken.clinic.test');
    }
  });
});

test('renewal happens at two thirds of the lifetime, and an expired certificate is reported', async () => {
  await withAcme(async ({ store, acme, orders, clock }) => {
    const id = await addDomain(store, 'renew.clinic.test', { state: 'verified' });
    await acme.scheduler.runOnce();
    const [first] = await store.db.select().from(certificates).where(eq(certificates.hostname, 'renew.clinic.test'));
    const lifetime = first!.notAfter.getTime() - first!.notBefore.getTime();
    assert.ok(Math.abs(lifetime - VALIDITY_S * 1000) <= 2000, `pebble's lifetime ${lifetime}`);
    // At 60 % of the lifetime nothing is due.
    clock.ms = first!.notBefore.getTime() + lifetime * 0.6;
    assert.deepEqual(await acme.scheduler.runOnce(), []);
    assert.equal(orders(), 1);
    // At 67 % it renews: a new certificate, the old one superseded, the domain still active.
    clock.ms = first!.notBefore.getTime() + lifetime * 0.67;
    const [renewed] = await acme.scheduler.runOnce();
    assert.equal(renewed!.outcome.state, 'issued');
    assert.equal(orders(), 2);
    const rows = await store.db.select().from(certificates).where(eq(certificates.hostname, 'renew.clinic.test'));
    assert.equal(rows.length, 2);
    assert.equal(rows.filter((r) => r.supersededAt === null).length, 1);
    assert.notEqual(rows.find((r) => r.supersededAt === null)!.id, first!.id);
    assert.equal((await domainRow(store, id)).state, 'active');
    // Past the live one's end with renewal failing: reported as expired, then the failure.
    const live = rows.find((r) => r.supersededAt === null)!;
    clock.ms = live.notAfter.getTime() + 1000;
    broken.add('renew.clinic.test');
    try {
      const [result] = await acme.scheduler.runOnce();
      assert.equal(result!.outcome.state, 'failed');
    } finally {
      broken.delete('renew.clinic.test');
    }
    const types = (await store.db.select().from(events)).map((e) => e.type);
    assert.ok(types.includes('domain.certificate_expired'), types.join());
    assert.equal((await domainRow(store, id)).tlsState, 'error');
  });
});

test('renewals failing from two thirds on end in a reported expiry that later failures do not overwrite', async () => {
  await withAcme(async ({ store, acme, clock }) => {
    const id = await addDomain(store, 'lapse.clinic.test', { state: 'verified' });
    await acme.scheduler.runOnce();
    const [cert] = await store.db.select().from(certificates).where(eq(certificates.hostname, 'lapse.clinic.test'));
    const lifetime = cert!.notAfter.getTime() - cert!.notBefore.getTime();
    const expiredEvents = async () => (await store.db.select().from(events).where(eq(events.type, 'domain.certificate_expired'))).length;
    broken.add('lapse.clinic.test');
    try {
      // Renewal fails at 67 % and again after its backoff: still served, so not expired yet.
      clock.ms = cert!.notBefore.getTime() + lifetime * 0.67;
      assert.equal((await acme.scheduler.runOnce())[0]?.outcome.state, 'failed');
      clock.ms += 61_000;
      assert.equal((await acme.scheduler.runOnce())[0]?.outcome.state, 'failed');
      const failing = await domainRow(store, id);
      assert.equal(failing.tlsState, 'error');
      assert.equal(failing.state, 'active');
      assert.doesNotMatch(failing.tlsError ?? '', /certificate_expired/);
      assert.equal(await expiredEvents(), 0);
      // Past its end, still failing: the expiry is reported on the domain and in events.
      clock.ms = cert!.notAfter.getTime() + 1000;
      assert.equal((await acme.scheduler.runOnce())[0]?.outcome.state, 'failed');
      const expired = await domainRow(store, id);
      assert.equal(expired.state, 'verified', 'no longer served with a valid certificate');
      assert.equal(expired.tlsState, 'error');
      assert.match(expired.tlsError ?? '', /^certificate_expired: the certificate of lapse\.clinic\.test expired at .*; renewal failed: /);
      assert.equal(await expiredEvents(), 1);
      // A later failure keeps the headline, and the expiry is reported once.
      clock.ms += 31 * 60_000;
      assert.equal((await acme.scheduler.runOnce())[0]?.outcome.state, 'failed');
      assert.match((await domainRow(store, id)).tlsError ?? '', /^certificate_expired: /);
      assert.equal((await domainRow(store, id)).tlsAttempts, 4);
      assert.equal(await expiredEvents(), 1);
    } finally {
      broken.delete('lapse.clinic.test');
    }
    // Fixed: the next attempt makes it active again.
    clock.ms += 61 * 60_000;
    assert.equal((await acme.scheduler.runOnce())[0]?.outcome.state, 'issued');
    const back = await domainRow(store, id);
    assert.equal(back.state, 'active');
    assert.equal(back.tlsError, null);
  });
});

test('a suspended tenant\'s verified domain gets no order from the scheduler', async () => {
  await withAcme(async ({ store, acme, orders }) => {
    await addDomain(store, 'www.suspended.test', { state: 'verified' });
    await store.db.update(tenants).set({ state: 'suspended', suspendedAt: new Date() }).where(eq(tenants.id, SEED.tenantId));
    assert.deepEqual(await acme.scheduler.runOnce(), []);
    assert.equal(orders(), 0);
    assert.equal((await store.db.select().from(acmeOrders)).length, 0);
    // The control: resumed, the same domain is ordered.
    await store.db.update(tenants).set({ state: 'active', suspendedAt: null }).where(eq(tenants.id, SEED.tenantId));
    const [result] = await acme.scheduler.runOnce();
    assert.equal(result?.outcome.state, 'issued', JSON.stringify(result));
  });
});

test('a certificate that cannot be stored is a reported failure, and the pass goes on to the next host', async () => {
  // The CA answers garbage for one host (an unreadable chain fails in the store step).
  const garbled = (ca: AcmeCa): AcmeCa => ({
    ...ca, directoryUrl: ca.directoryUrl,
    order: async (r) => (r.hostname === 'garbled.clinic.test' ? 'not a certificate' : ca.order(r)),
  });
  await withAcme(async ({ store, acme }) => {
    const bad = await addDomain(store, 'garbled.clinic.test', { state: 'verified' });
    await addDomain(store, 'fine.clinic.test', { state: 'verified' });
    const results = await acme.scheduler.runOnce();
    const byHost = new Map(results.map((r) => [r.hostname, r.outcome.state]));
    assert.equal(byHost.get('garbled.clinic.test'), 'failed');
    assert.equal(byHost.get('fine.clinic.test'), 'issued');
    const d = await domainRow(store, bad);
    assert.equal(d.tlsState, 'error', 'not stuck at issuing');
    assert.equal(d.tlsAttempts, 1);
    assert.ok(d.tlsError);
    const [order] = await store.db.select().from(acmeOrders).where(eq(acmeOrders.hostname, 'garbled.clinic.test'));
    assert.equal(order?.state, 'invalid', 'the order is closed, not left pending for its lease');
  }, undefined, garbled);
});

test('a released custom domain\'s certificate stops being live and is not renewed', async () => {
  await withAcme(async ({ store, ctx, acme, orders, clock }) => {
    await addDomain(store, 'gone.clinic.test', { state: 'verified' });
    assert.equal((await acme.scheduler.runOnce())[0]?.outcome.state, 'issued');
    const [cert] = await store.db.select().from(certificates).where(eq(certificates.hostname, 'gone.clinic.test'));
    // Released with its deployment (the domain service's release, in one transaction).
    await store.db.transaction((tx) => releaseDeploymentDomains(tx, SEED.deploymentId, 'key_t'));
    assert.deepEqual(await liveCertificatesFor(ctx.store.db, ctx.secrets, { hostname: 'gone.clinic.test' }), []);
    clock.ms = cert!.notBefore.getTime() + (cert!.notAfter.getTime() - cert!.notBefore.getTime()) * 0.7;
    assert.deepEqual(await acme.scheduler.runOnce(), [], 'nothing due, not even a refused renewal');
    assert.equal(orders(), 1);
  });
});

test('orders are rate-limited per tenant, in the store', async () => {
  await withAcme(async ({ store, acme, orders }) => {
    await addDomain(store, 'one.clinic.test', { state: 'verified' });
    await addDomain(store, 'two.clinic.test', { state: 'verified' });
    assert.deepEqual(await acme.demand('one.clinic.test'), { state: 'issuing' });
    await assert.rejects(acme.demand('two.clinic.test'), (err: unknown) => err instanceof SlipwayError && err.code === 'acme_rate_limited');
    await acme.stop();
    assert.equal(orders(), 1);
  }, { maxOrdersPerHour: 100, maxOrdersPerTenantPerHour: 1 });
});
