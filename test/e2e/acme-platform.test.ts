// ACME through a real platform (`slipway up`) and Debian's pebble: a published site, a custom
// domain proven by a TXT record, then the first HTTPS handshake for its host makes the edge ask
// for a certificate, the server orders it from pebble (HTTP-01 answered by the edge itself on
// its HTTP port, which is pebble's `httpPort`), and the site answers over HTTPS trusted by
// pebble's root alone. A host that is not verified gets no order at pebble (the edge asks through
// `POST /api/v1/internal/certificates/issue`, the one on-demand route).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'node:https';
import { waitFor } from '../../src/util/wait-for.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { freePort, startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
let pebble: Pebble;

before(async () => {
  const httpPort = await freePort();
  pebble = await startPebble({ httpPort, certificateValiditySeconds: 3600 });
  platform = await startPlatform({
    env: {
      SLIPWAY_HTTP_PORT: String(httpPort), SLIPWAY_DNS_SERVERS: pebble.dnsServer, SLIPWAY_DOMAIN_HTTP_CHECK_PORT: String(httpPort),
      SLIPWAY_ACME_DIRECTORY_URL: pebble.directoryUrl, SLIPWAY_ACME_CA_FILE: pebble.caFile,
      // Long: the first handshake is what orders the certificate here, not the scheduler.
      SLIPWAY_ACME_CHECK_INTERVAL_MS: '600000',
    },
  });
  await platform.client.createDeployment({ slug: 'clinic' });
  const published = await platform.client.publish('clinic', { files: { 'index.html': 'clinic over acme' } }, { wait: true });
  assert.equal(published.version.state, 'ready');
});
after(async () => {
  await platform?.stop();
  await pebble?.stop();
});

/** GET https://<host>/ on the edge's HTTPS port (connecting to 127.0.0.1), trusting only `ca`. */
function httpsGet(host: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: platform.httpsPort, servername: host, headers: { host }, ca, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('a verified custom domain is served over HTTPS with a certificate from pebble', async () => {
  const added = await platform.client.addDomain('clinic', 'www.clinic.test');
  pebble.dns.setTxt(added.verification!.dns.name, [added.verification!.dns.value]);
  const verified = await platform.client.verifyDomain(added.id!);
  assert.equal(verified.state, 'verified', JSON.stringify(verified.error));
  const root = await pebble.issuingRoot();
  const started = Date.now();
  // The edge asks for a certificate only for a host its routes serve (once a minute per host):
  // the first handshake waits until the route reached the edge, which plain HTTP shows.
  await waitFor(async () => (await platform.edge('www.clinic.test')).status === 200, { description: 'www.clinic.test routed on the edge' });
  const answer = await waitFor(async () => {
    const a = await httpsGet('www.clinic.test', root);
    return a.status === 200 ? a : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100, description: 'https://www.clinic.test/ trusted by pebble\'s root' });
  console.log(`# verified → served over HTTPS: ${Date.now() - started} ms`);
  assert.equal(answer.body, 'clinic over acme');
  const domain = await waitFor(async () => {
    const d = await platform.client.getDomain(added.id!);
    return d.state === 'active' ? d : undefined;
  }, { description: 'domain active' });
  assert.equal(domain.tls_state, 'issued');
  assert.equal(domain.tls_error, null);
});

test('an unverified host places no order at pebble when the edge asks for its certificate', async () => {
  // No A record: neither the domain checker's HTTP check nor pebble reaches anything for it, so
  // it stays pending however long the test runs, and only the allow-check stands between the
  // request and an order (pebble counts a new order before it validates anything).
  pebble.dns.setA('pending.clinic.test', null);
  const pending = await platform.client.addDomain('clinic', 'pending.clinic.test');
  assert.equal(pending.state, 'pending_verification');
  const ordersBefore = pebble.ordersPlaced();
  for (const host of ['pending.clinic.test', 'nobody.example.test']) {
    const issue = await fetch(`${platform.apiUrl}/api/v1/internal/certificates/issue`, {
      method: 'POST', headers: { authorization: `Bearer ${platform.internalToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ hostname: host }),
    });
    assert.equal(issue.status, 200);
    assert.deepEqual(await issue.json(), { data: { certificate: null } });
    await assert.rejects(httpsGet(host, await pebble.issuingRoot()));
  }
  assert.equal(pebble.ordersPlaced(), ordersBefore);
  assert.equal((await platform.client.getDomain(pending.id!)).state, 'pending_verification');
});
