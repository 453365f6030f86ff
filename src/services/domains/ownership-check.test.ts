import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestDns, type TestDns } from '../../../test/support/dns-server.js';
import { checkOwnership, nextCheckDelayMs } from './ownership-check.js';
import { isPublicAddress } from './public-address.js';
import { createDomainResolver, parseDnsServers } from './verify-dns.js';

const TOKEN = '0123456789abcdef0123456789abcdef';

describe('domain ownership checks against real DNS and HTTP servers on loopback', () => {
  let dns: TestDns;
  let http: Server;
  let httpPort: number;
  /** Requests the HTTP server received (a refused address must never be connected to). */
  let received = 0;
  /** Hosts whose requests the HTTP server never answers. */
  const silentHosts = new Set<string>();
  /** What the HTTP server answers at the token path, by Host. */
  const answers = new Map<string, { status: number; body: string; location?: string }>();

  before(async () => {
    dns = await startTestDns();
    http = createServer((req, res) => {
      received++;
      if (silentHosts.has((req.headers.host ?? '').split(':')[0]!)) return;
      const answer = req.url === `/.well-known/slipway-challenge/${TOKEN}` ? answers.get((req.headers.host ?? '').split(':')[0]!) : undefined;
      if (answer === undefined) {
        res.writeHead(404).end('nope');
        return;
      }
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {}).end(answer.body);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    httpPort = (http.address() as AddressInfo).port;
  });
  after(async () => {
    await dns?.close();
    http?.closeAllConnections();
    await new Promise((resolve) => http?.close(resolve));
  });

  // The test's "owner's server" is on loopback: only the explicit opt-in lets the check go there.
  const config = () => ({ resolver: createDomainResolver([dns.server]), httpPort, allowPrivate: true });

  it('fails with the expected record and "none" when nothing is published', async () => {
    const result = await checkOwnership(config(), 'none.example.com', TOKEN);
    assert.equal(result.ok, false);
    assert.match((result as { message: string }).message, new RegExp(`^expected TXT _slipway-challenge\\.none\\.example\\.com = "${TOKEN}", found: none; `));
    assert.match((result as { message: string }).message, /has no A or AAAA record/);
  });

  it('says which values it found when the TXT record holds something else', async () => {
    dns.setTxt('_slipway-challenge.wrong.example.com', ['v=spf1 -all', 'oldtoken']);
    const result = await checkOwnership(config(), 'wrong.example.com', TOKEN);
    assert.equal(result.ok, false);
    assert.match((result as { message: string }).message, /found: "v=spf1 -all", "oldtoken";/);
  });

  it('passes by DNS once the TXT record holds the token', async () => {
    dns.setTxt('_slipway-challenge.good.example.com', ['other', TOKEN]);
    assert.deepEqual(await checkOwnership(config(), 'good.example.com', TOKEN), { ok: true, by: 'dns' });
  });

  it('passes by HTTP when the host serves the token, and fails on a redirect or another body', async () => {
    dns.setA('web.example.com', '127.0.0.1');
    answers.set('web.example.com', { status: 200, body: `${TOKEN}\n` });
    assert.deepEqual(await checkOwnership(config(), 'web.example.com', TOKEN), { ok: true, by: 'http' });

    dns.setA('moved.example.com', '127.0.0.1');
    answers.set('moved.example.com', { status: 302, body: '', location: 'http://elsewhere.example/' });
    const moved = await checkOwnership(config(), 'moved.example.com', TOKEN);
    assert.equal(moved.ok, false);
    assert.match((moved as { message: string }).message, /found: HTTP 302$/, 'the status only: no Location is echoed');

    dns.setA('other.example.com', '127.0.0.1');
    answers.set('other.example.com', { status: 200, body: 'x'.repeat(5000) });
    const big = await checkOwnership(config(), 'other.example.com', TOKEN);
    assert.equal(big.ok, false);
    assert.match((big as { message: string }).message, /a body longer than 1024 bytes/);
  });

  it('refuses a host resolving to a non-public address before connecting, unless allowed', async () => {
    const strict = { resolver: createDomainResolver([dns.server]), httpPort };
    for (const [name, address] of [['loop.example.com', '127.0.0.1'], ['lan.example.com', '10.0.0.7'], ['meta.example.com', '169.254.169.254'], ['cgnat.example.com', '100.64.1.1']] as const) {
      dns.setA(name, address);
      answers.set(name, { status: 200, body: TOKEN });
      const before = received;
      const result = await checkOwnership(strict, name, TOKEN);
      assert.equal(result.ok, false, name);
      assert.match((result as { message: string }).message, /found: the host resolves to a non-public address$/, name);
      assert.equal(received, before, `${name}: nothing was connected to`);
    }
    assert.deepEqual(await checkOwnership(config(), 'loop.example.com', TOKEN), { ok: true, by: 'http' }, 'the opt-in lets tests reach loopback');
    for (const a of ['::1', 'fd00::1', 'fe80::1', 'ff02::1', '::', '::ffff:127.0.0.1', '0.0.0.0', '224.0.0.1', '172.16.0.1', '192.168.1.1']) assert.equal(isPublicAddress(a), false, a);
    for (const a of ['8.8.8.8', '2606:4700::1111', '172.32.0.1', '100.128.0.1']) assert.equal(isPublicAddress(a), true, a);
  });

  it('says only "could not connect" when nothing listens, and ends the whole check by its deadline', async () => {
    dns.setA('closed.example.com', '127.0.0.1');
    const closed = await checkOwnership({ ...config(), httpPort: 9 }, 'closed.example.com', TOKEN);
    assert.match((closed as { message: string }).message, /found: could not connect$/);

    dns.setA('silent.example.com', '127.0.0.1');
    silentHosts.add('silent.example.com');
    const started = Date.now();
    const silent = await checkOwnership({ ...config(), timeoutMs: 300 }, 'silent.example.com', TOKEN);
    assert.match((silent as { message: string }).message, /found: no answer in time$/);
    // Generous upper bound (a loaded machine): the point is that it is not the old 5 s HTTP bound.
    assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
  });

  it('backs off 10 s, 30 s, 1 min, 5 min, 15 min, then hourly', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map(nextCheckDelayMs), [10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('parses SLIPWAY_DNS_SERVERS', () => {
    assert.equal(parseDnsServers(undefined), undefined);
    assert.equal(parseDnsServers(' '), undefined);
    assert.deepEqual(parseDnsServers('127.0.0.1:5353, 10.0.0.1,[::1]:53'), ['127.0.0.1:5353', '10.0.0.1', '[::1]:53']);
    assert.throws(() => parseDnsServers('dns.example.com'), /SLIPWAY_DNS_SERVERS/);
    assert.throws(() => parseDnsServers('127.0.0.1:99999'), /SLIPWAY_DNS_SERVERS/);
  });
});
