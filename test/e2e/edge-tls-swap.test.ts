// The certificate stream end to end, in one process with real parts: the store (PGlite, or
// PostgreSQL with SLIPWAY_TEST_DATABASE_URL), the services and the HTTP API on a real port, and a
// real edge with HTTPS following `GET /internal/certificates?watch=true`. Proves: a certificate
// saved in the store reaches the edge's next handshake; replacing it under a stream of new
// connections fails none of them, while a connection opened before keeps working; the edge
// saves its certificates (mode 0600) and, restarted with the server gone, serves HTTPS from them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { type Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { createApi } from '../../src/api/app.js';
import { DEFAULT_UPLOAD_LIMITS } from '../../src/core/limits.js';
import { createEdgeServer, type EdgeServer } from '../../src/edge/edge-server.js';
import { silentLogger } from '../../src/edge/logger.js';
import { certificatesFile } from '../../src/edge/tls-certificate-watcher.js';
import { createApiKey } from '../../src/services/api-keys.js';
import { createServices, type Services } from '../../src/services/services.js';
import { ensureLocalCa, issueLocalCertificate } from '../../src/services/tls/local-ca.js';
import { waitFor } from '../../src/util/wait-for.js';
import { seedContext, seedDeployment, SEED } from '../support/seed.js';
import { openTestStore, type TestStore } from '../support/test-store.js';

const HOST = 'shop.example.test';
let testStore: TestStore;
let services: Services;
let api: FastifyInstance | null = null;
let serverUrl = '';
let token = '';
let caPem = '';
let stateDir = '';
const edges: EdgeServer[] = [];

before(async () => {
  testStore = await openTestStore();
  const ctx = seedContext(testStore.store);
  ctx.config.baseDomain = 'example.test';
  ctx.config.limits = DEFAULT_UPLOAD_LIMITS;
  await seedDeployment(testStore.store);
  token = (await createApiKey(testStore.store.db, { tenantId: SEED.tenantId, role: 'internal', name: 'edge' })).token;
  services = createServices(ctx);
  api = await createApi({ services });
  await api.listen({ port: 0, host: '127.0.0.1' });
  serverUrl = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  caPem = (await ensureLocalCa(testStore.store.db, ctx.secrets, 'example.test')).certPem;
  stateDir = await mkdtemp(join(tmpdir(), 'slipway-edge-tls-'));
});

after(async () => {
  for (const edge of edges) await edge.close().catch(() => undefined);
  services?.certificates.stop();
  services?.routes.stop();
  await api?.close();
  await testStore?.cleanup();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function startEdge(url: string): Promise<number> {
  const edge = createEdgeServer({
    port: 0, httpsPort: 0, host: '127.0.0.1', baseDomain: 'example.test', serverUrl: url, token, stateDir, logger: silentLogger,
    onUnknownHost: null, reconnectMs: { min: 50, max: 200 }, closeGraceMs: 1000,
  });
  edges.push(edge);
  const { httpsPort } = await edge.start();
  return httpsPort!;
}

/** One request over `agent` (or a new connection); the serial the server presented and the status. */
function get(port: number, agent: Agent | false): Promise<{ serial: string; status: number; socket: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: HOST, path: '/_slipway/health', ca: caPem, agent, headers: { host: HOST } }, (res) => {
      const socket = res.socket as TLSSocket;
      res.resume();
      res.on('end', () => resolve({ serial: socket.getPeerCertificate().serialNumber, status: res.statusCode ?? 0, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function issue(): Promise<string> {
  const cert = await issueLocalCertificate(services.ctx, { hostnames: [HOST], tenantId: null });
  return new (await import('node:crypto')).X509Certificate(cert.cert_pem).serialNumber;
}

test('a certificate replaced in the store is used by the next handshake, with no failed request and open connections kept', async () => {
  const port = await startEdge(serverUrl);
  const first = await issue();
  await waitFor(async () => (await get(port, false)).serial === first, { timeoutMs: 10_000, description: 'the edge serves the first certificate' });

  // A connection opened before the swap, kept busy across it: a request whose head is still
  // being sent (an idle keep-alive connection would be closed by its timeout on a slow machine).
  const kept = connectTls({ host: '127.0.0.1', port, servername: HOST, ca: caPem });
  try {
    await new Promise<void>((resolve, reject) => {
      kept.once('secureConnect', () => resolve());
      kept.once('error', reject);
    });
    assert.equal(kept.getPeerCertificate().serialNumber, first);
    let answer = '';
    kept.setEncoding('utf8');
    kept.on('data', (chunk: string) => (answer += chunk));
    kept.write(`GET /_slipway/health HTTP/1.1\r\nHost: ${HOST}\r\n`);

    let failures = 0;
    let requests = 0;
    const seen = new Set<string>();
    let running = true;
    const loop = async () => {
      while (running) {
        requests++;
        try {
          const reply = await get(port, false);
          if (reply.status !== 200) failures++;
          seen.add(reply.serial);
        } catch {
          failures++;
        }
      }
    };
    const loops = [loop(), loop(), loop(), loop()];
    let second = '';
    try {
      await waitFor(() => requests > 20, { timeoutMs: 10_000, description: 'requests before the swap' });
      second = await issue();
      await waitFor(() => seen.has(second), { timeoutMs: 10_000, description: 'a handshake with the new certificate' });
      const after = requests;
      await waitFor(() => requests > after + 20, { timeoutMs: 10_000, description: 'requests after the swap' });
    } finally {
      // Stopped on every path: a failed wait must not leave the loops running.
      running = false;
      await Promise.all(loops);
    }
    assert.equal(failures, 0, `${failures} of ${requests} requests failed across the swap`);
    assert.ok(seen.has(first) && seen.has(second));

    // The request begun before the swap ends on the connection opened then, with its certificate.
    kept.write('\r\n');
    await waitFor(() => answer.includes('\r\n\r\n'), { timeoutMs: 10_000, description: 'the kept connection\'s answer' });
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.equal(kept.getPeerCertificate().serialNumber, first, 'it keeps the certificate it was opened with');
    assert.equal((await get(port, false)).serial, second);
  } finally {
    kept.destroy();
  }
});

test('the edge keeps its certificates on disk (0600) and serves HTTPS from them with the server gone', async () => {
  const current = await issue();
  const port = await startEdge(serverUrl);
  await waitFor(async () => (await get(port, false)).serial === current, { timeoutMs: 10_000, description: 'the edge serves the current certificate' });
  for (const edge of edges.splice(0)) await edge.close();
  assert.equal((await stat(certificatesFile(stateDir))).mode & 0o777, 0o600);

  // A server that is gone: nothing listens at this address any more.
  const gone = await startGoneServer();
  const restarted = await startEdge(gone);
  const answer = await get(restarted, false);
  assert.equal(answer.serial, current);
  assert.equal(answer.status, 200);
});

/** The URL of a port nothing listens on. */
async function startGoneServer(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

test('a certificate saved without a notification still reaches the edge (the 1 s backstop)', async () => {
  const { saveCertificate } = await import('../../src/services/tls/certificate-store.js');
  const { issueServerCertificate } = await import('../../src/util/x509-issue.js');
  const port = await startEdge(serverUrl);
  const ca = await ensureLocalCa(testStore.store.db, services.ctx.secrets, 'example.test');
  const pem = await issueServerCertificate(ca, [HOST], 30);
  // As another server's save whose NOTIFY was lost: stored, revision bumped, nobody told.
  await saveCertificate(testStore.store.db, services.ctx.secrets, {
    hostname: HOST, tenantId: null, issuer: 'local_ca', certPem: pem.certPem, keyPem: pem.keyPem, notBefore: pem.notBefore, notAfter: pem.notAfter,
  });
  await waitFor(async () => (await get(port, false)).serial === pem.serial, { timeoutMs: 5_000, description: 'the edge serves the silently saved certificate' });
});
