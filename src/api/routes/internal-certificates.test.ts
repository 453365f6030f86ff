import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seedContext, seedDeployment, SEED } from '../../../test/support/seed.js';
import { openTestStore } from '../../../test/support/test-store.js';
import { DEFAULT_UPLOAD_LIMITS } from '../../core/limits.js';
import { createApiKey } from '../../services/api-keys.js';
import { createServices, type ServiceDrivers } from '../../services/services.js';
import type { AcmeCa } from '../../services/tls/acme-ca.js';
import { certificates, localCa } from '../../store/schema.js';
import { createApi } from '../app.js';

/** An ACME CA no test reaches: the allow-check refuses managed hosts before any order. */
const unreachableCa: AcmeCa = {
  directoryUrl: 'https://acme.invalid/directory',
  createKeyAndCsr: () => Promise.reject(new Error('no order expected')),
  createAccountKey: () => Promise.reject(new Error('no order expected')),
  order: () => Promise.reject(new Error('no order expected')),
};

async function issueFor(drivers: ServiceDrivers, run: (issue: (hostname: string) => Promise<unknown>, rows: () => Promise<number>, snapshot: () => Promise<unknown>) => Promise<void>): Promise<void> {
  const { store, cleanup } = await openTestStore();
  const ctx = seedContext(store);
  ctx.config.baseDomain = 'example.test';
  ctx.config.limits = DEFAULT_UPLOAD_LIMITS;
  const services = createServices(ctx, drivers);
  const api = await createApi({ services });
  try {
    await seedDeployment(store);
    const { token } = await createApiKey(store.db, { tenantId: SEED.tenantId, role: 'internal', name: 'edge' });
    const issue = async (hostname: string) => {
      const res = await api.inject({ method: 'POST', url: '/api/v1/internal/certificates/issue', headers: { authorization: `Bearer ${token}` }, payload: { hostname } });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { data: { certificate: unknown } }).data.certificate;
    };
    const rows = async () => (await store.db.select().from(certificates)).length + (await store.db.select().from(localCa)).length;
    const snapshot = async () => {
      const res = await api.inject({ method: 'GET', url: '/api/v1/internal/certificates', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { data: unknown }).data;
    };
    await run(issue, rows, snapshot);
  } finally {
    services.certificates.stop();
    services.routes.stop();
    await api.close();
    await cleanup();
  }
}

test('without ACME, the local CA issues on demand for a managed host, and a snapshot lists it', () => issueFor({}, async (issue, rows, snapshot) => {
  assert.equal((await issue('app.example.test') as { hostname: string } | null)?.hostname, 'app.example.test');
  assert.equal(await rows(), 2, 'the CA and the certificate');
  const { revision, certificates: live } = await snapshot() as { revision: number; certificates: Array<{ hostname: string }> };
  assert.ok(revision > 0);
  assert.deepEqual(live.map((c) => c.hostname), ['app.example.test']);
}));

test('with ACME configured, no local CA certificate is made for a managed host', () => issueFor({
  acme: { ca: unreachableCa, options: { limits: { maxOrdersPerHour: 10, maxOrdersPerTenantPerHour: 10 }, checkIntervalMs: 60_000 } },
}, async (issue, rows) => {
  assert.equal(await issue('app.example.test'), null);
  assert.equal(await rows(), 0, 'no local CA and no certificate were written');
}));
