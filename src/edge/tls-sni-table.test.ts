import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type SecureContext } from 'node:tls';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createCa, issueServerCertificate, type PemPair } from '../util/x509-issue.js';
import { SniTable, type EdgeCertificate } from './tls-sni-table.js';
import { UnknownHostGate } from './tls-unknown-hosts.js';

const ca = await createCa('example.test local CA', 30);

async function certificate(id: string, hostnames: string[], notAfter = '2030-01-01T00:00:00.000Z'): Promise<EdgeCertificate & { pem: PemPair }> {
  const pem = await issueServerCertificate(ca, hostnames, 30);
  return { id, hostname: hostnames[0]!, cert_pem: pem.certPem, key_pem: pem.keyPem, not_after: notAfter, pem };
}

/** The serial of the certificate a real TLS server presents for `servername`, using `table`. */
async function servedSerial(table: SniTable, servername: string): Promise<string | null> {
  const fallback = await issueServerCertificate(ca, ['fallback.invalid'], 1);
  const server: Server = createServer({
    cert: fallback.certPem, key: fallback.keyPem,
    SNICallback: (name, done: (err: Error | null, ctx?: SecureContext) => void) => done(null, table.find(name)),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<string | null>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, servername, ca: ca.certPem, rejectUnauthorized: false }, () => {
        const serial = socket.getPeerCertificate().serialNumber;
        socket.destroy();
        resolve(serial === fallback.serial ? null : serial);
      });
      socket.on('error', reject);
    });
  } finally {
    server.close();
  }
}

test('an exact host wins over a wildcard, a wildcard covers one label only, anything else is not found', async () => {
  const exact = await certificate('crt_exact', ['shop.apps.example.test']);
  const wildcard = await certificate('crt_wild', ['*.apps.example.test', 'apps.example.test']);
  const table = new SniTable();
  table.replace([wildcard, exact]);
  assert.equal(await servedSerial(table, 'shop.apps.example.test'), exact.pem.serial);
  assert.equal(await servedSerial(table, 'SHOP.Apps.Example.Test'), exact.pem.serial, 'SNI names are case-insensitive');
  assert.equal(await servedSerial(table, 'blog.apps.example.test'), wildcard.pem.serial);
  assert.equal(table.find('a.b.apps.example.test'), undefined, 'a wildcard never covers two labels');
  assert.equal(table.find('apps.example.test'), undefined, 'the wildcard row is keyed by its first name only');
  assert.equal(table.find('other.test'), undefined);
});

test('a wildcard is never looked up directly under a top-level name (no client accepts *.localhost)', async () => {
  const table = new SniTable();
  table.replace([await certificate('crt_local', ['*.localhost'])]);
  assert.equal(table.find('app.localhost'), undefined);
});

test('replacing the table serves the new certificate to the next lookup and keeps unchanged contexts', async () => {
  const first = await certificate('crt_1', ['shop.example.test']);
  const other = await certificate('crt_other', ['blog.example.test']);
  const table = new SniTable();
  table.replace([first, other]);
  const otherContext = table.find('blog.example.test');
  const second = await certificate('crt_2', ['shop.example.test']);
  table.replace([second, other]);
  assert.equal(await servedSerial(table, 'shop.example.test'), second.pem.serial);
  assert.equal(table.find('blog.example.test'), otherContext, 'a certificate already held is not loaded again');
  table.replace([other]);
  assert.equal(table.find('shop.example.test'), undefined, 'a certificate no snapshot names goes');
});

test('of two certificates for one host the one that expires last is served, and a broken one is left out', async () => {
  const older = await certificate('crt_old', ['shop.example.test'], '2030-01-01T00:00:00.000Z');
  const newer = await certificate('crt_new', ['shop.example.test'], '2031-01-01T00:00:00.000Z');
  const broken: EdgeCertificate = { id: 'crt_bad', hostname: 'bad.example.test', cert_pem: 'nope', key_pem: 'nope', not_after: '2031-01-01T00:00:00.000Z' };
  const invalid: string[] = [];
  const table = new SniTable();
  table.replace([newer, older, broken], (c) => invalid.push(c.id));
  assert.equal(await servedSerial(table, 'shop.example.test'), newer.pem.serial);
  assert.deepEqual(invalid, ['crt_bad']);
  assert.deepEqual(table.certificates.map((c) => c.id), ['crt_new']);
});

test('set() adds one host without touching the others', async () => {
  const table = new SniTable();
  const a = await certificate('crt_a', ['a.example.test']);
  const b = await certificate('crt_b', ['b.example.test']);
  table.replace([a]);
  assert.equal(table.set(b), true);
  assert.ok(table.has('a.example.test') && table.has('b.example.test'));
});

test('the unknown-host gate lets a host through once per window and stays bounded under a flood', () => {
  let now = 0;
  const gate = new UnknownHostGate({ everyMs: 1000, maxHosts: 3, now: () => now });
  assert.equal(gate.admit('a.test'), true);
  assert.equal(gate.admit('a.test'), false, 'twice in one window');
  for (let i = 0; i < 10_000; i++) gate.admit(`flood-${i}.test`);
  assert.equal(gate.size, 3, 'a flood of names never grows the gate past its bound');
  assert.equal(gate.admit('b.test'), false, 'full: new names wait for the window');
  now = 1000;
  assert.equal(gate.admit('b.test'), true, 'expired entries make room');
  assert.equal(gate.admit('a.test'), true, 'and a host is let through again after its window');
});
