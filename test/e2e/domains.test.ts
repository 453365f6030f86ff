// Custom domains and tenant bases end to end, with a DNS server on loopback the test controls:
// claim → a failed check says which record was expected and what was found → publish the TXT
// record (or serve the HTTP token from the owner's own server: the edge never answers it) →
// verified → the edge serves the app at that host → released → 404 again. Redirect,
// HTTPS-redirect and history too.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { createClient, isSlipwayApiError } from '../../src/sdk/index.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startTestDns, type TestDns } from '../support/dns-server.js';
import { freePort, startPlatform, type EdgeAnswer, type Platform } from '../support/platform.js';

let platform: Platform;
let dns: TestDns;
/** The "owner's own web server", before their DNS moves to Slipway: 127.0.0.2 on the edge's port (the edge listens on 127.0.0.1). */
let owner: Server;
/** What the owner's server answers at a token path, by host. */
const ownerTokens = new Map<string, string>();
/** The address of the owner's server. */
const OWNER_ADDRESS = '127.0.0.2';

before(async () => {
  dns = await startTestDns();
  const httpPort = await freePort();
  owner = createServer((req, res) => {
    const token = ownerTokens.get((req.headers.host ?? '').split(':')[0]!);
    if (token !== undefined && req.url === `/.well-known/slipway-challenge/${token}`) return void res.end(token);
    res.writeHead(404).end('owner 404');
  });
  await new Promise<void>((resolve, reject) => {
    owner.once('error', reject);
    owner.listen(httpPort, OWNER_ADDRESS, () => resolve());
  });
  platform = await startPlatform({
    env: {
      SLIPWAY_DNS_SERVERS: dns.server, SLIPWAY_HTTP_PORT: String(httpPort),
      // The HTTP token check connects on the edge's port: to the owner's server (127.0.0.2) or,
      // for a host that resolves to the edge, to the edge (127.0.0.1). Both are loopback: opted in.
      SLIPWAY_DOMAIN_HTTP_CHECK_PORT: String(httpPort), SLIPWAY_DOMAIN_HTTP_CHECK_ALLOW_PRIVATE: '1',
    },
  });
  await platform.client.createDeployment({ slug: 'site' });
  const published = await platform.client.publish('site', { files: { 'index.html': 'hello from site v1' } }, { wait: true });
  assert.equal(published.version.state, 'ready');
});
after(async () => {
  await platform?.stop();
  await dns?.close();
  owner?.closeAllConnections();
  await new Promise((resolve) => owner?.close(resolve));
});

/**
 * Verifies `id` once its record is in place: a verify within 10 s of the last check answers that
 * check, so this asks until one finds the record (a condition with a deadline, not a sleep).
 */
async function verifiedAfterRetry(id: string): Promise<void> {
  await waitFor(async () => (await platform.client.verifyDomain(id)).state === 'verified', { timeoutMs: 20_000, intervalMs: 500, description: `${id} verified` });
}

/** Waits until the edge answers `host` with `status` (route changes reach the edge asynchronously). */
async function edgeAnswers(host: string, status: number, path = '/'): Promise<EdgeAnswer> {
  let last: EdgeAnswer | undefined;
  await waitFor(async () => (last = await platform.edge(host, path)).status === status, { timeoutMs: 10_000, description: `${host} answering ${status}` });
  return last!;
}

const code = (expected: string, status: number) => (err: unknown) => isSlipwayApiError(err) && err.code === expected && err.status === status;

test('a custom domain is served once its TXT record is published, and not once released', async () => {
  const added = await platform.client.addDomain('site', 'WWW.Clinic.test');
  assert.equal(added.hostname, 'www.clinic.test');
  assert.equal(added.kind, 'custom');
  assert.equal(added.state, 'pending_verification');
  const token = added.verification!.dns.value;
  assert.deepEqual(added.verification, {
    dns: { type: 'TXT', name: '_slipway-challenge.www.clinic.test', value: token },
    http: { url: `http://www.clinic.test/.well-known/slipway-challenge/${token}`, body: token, note: added.verification!.http.note },
  });
  assert.match(added.verification!.http.note, /your own current web server.*only be verified by the DNS TXT record/);
  await assert.rejects(platform.client.addDomain('site', 'www.clinic.test'), code('domain_exists', 409));

  const failed = await platform.client.verifyDomain(added.id!);
  assert.equal(failed.state, 'pending_verification');
  assert.match(failed.error!.message, new RegExp(`^expected TXT _slipway-challenge\\.www\\.clinic\\.test = "${token}", found: none;`));
  assert.equal((await platform.edge('www.clinic.test')).status, 404);

  dns.setTxt('_slipway-challenge.www.clinic.test', [token]);
  // Within 10 s of the failed check, verify answers that check again.
  const throttled = await platform.client.verifyDomain('www.clinic.test');
  if (throttled.state !== 'verified') assert.equal(throttled.last_checked_at, failed.last_checked_at);
  await verifiedAfterRetry(added.id!);
  const verified = await platform.client.getDomain('www.clinic.test');
  assert.equal(verified.state, 'verified');
  assert.equal(verified.verified_by, 'dns');
  assert.equal((await edgeAnswers('www.clinic.test', 200)).text, 'hello from site v1');
  // The managed host is there as always, and is not removable.
  const listed = await platform.client.listDomains('site');
  assert.deepEqual(listed.map((d) => [d.kind, d.hostname, d.state]), [['managed', 'site.localhost', 'active'], ['custom', 'www.clinic.test', 'verified']]);
  await assert.rejects(platform.client.removeDomain('site.localhost'), code('domain_not_removable', 409));

  const servedAt = new Date();
  const history = await platform.client.domainHistory(added.id!, servedAt);
  assert.equal(history.deployment_slug, 'site');
  assert.equal(history.version_number, 1);

  await platform.client.removeDomain(added.id!);
  await edgeAnswers('www.clinic.test', 404);
  assert.equal((await platform.client.domainHistory('www.clinic.test', servedAt)).version_number, 1, 'history outlives the release');
  assert.equal((await platform.client.domainHistory('www.clinic.test')).deployment_id, null);
  // Released: it can be claimed again.
  const again = await platform.client.addDomain('site', 'www.clinic.test');
  assert.notEqual(again.verification!.dns.value, token, 'a new claim gets a new token');
  await platform.client.removeDomain(again.id!);
});

test('the server retries the check by itself and serves the host once the record appears', async () => {
  const added = await platform.client.addDomain('site', 'auto.clinic.test');
  dns.setTxt('_slipway-challenge.auto.clinic.test', [added.verification!.dns.value]);
  // No verify call: the server's checker finds it due (first retry after 10 s) and verifies it.
  await waitFor(async () => (await platform.client.getDomain(added.id!)).state === 'verified', { timeoutMs: 45_000, description: 'auto.clinic.test verified by the checker' });
  assert.equal((await edgeAnswers('auto.clinic.test', 200)).text, 'hello from site v1');
  await platform.client.removeDomain(added.id!);
});

test("the HTTP token served by the owner's own server verifies a host; the edge never answers it", async () => {
  const added = await platform.client.addDomain('site', 'web.clinic.test');
  const token = added.verification!.http.body;
  // Before the move: the host resolves to the owner's server, which serves the token.
  dns.setA('web.clinic.test', OWNER_ADDRESS);
  ownerTokens.set('web.clinic.test', token);
  const verified = await platform.client.verifyDomain(added.id!);
  assert.equal(verified.state, 'verified', JSON.stringify(verified.error));
  assert.equal(verified.verified_by, 'http');
  // Then the owner points DNS at the edge, which serves the app there, and not the token.
  dns.setA('web.clinic.test', '127.0.0.1');
  ownerTokens.delete('web.clinic.test');
  assert.equal((await edgeAnswers('web.clinic.test', 200)).text, 'hello from site v1');
  const atEdge = await platform.edge('web.clinic.test', `/.well-known/slipway-challenge/${token}`);
  assert.notEqual(atEdge.text, token, 'the edge never answers an ownership token');
  await platform.client.removeDomain(added.id!);
  await edgeAnswers('web.clinic.test', 404);
});

test('a host that resolves to the edge (a dangling record) is never verified by HTTP for another tenant', async () => {
  // web.clinic.test was released above, but its A record still points at the edge.
  const tenant = await platform.client.createTenant({ slug: 'squatter' });
  const key = await platform.client.createKey({ name: 'squatter admin', role: 'admin', tenantId: tenant.id });
  const squatter = createClient({ baseUrl: platform.apiUrl, token: key.token });
  await squatter.createDeployment({ slug: 'grab' });
  const claimed = await squatter.addDomain('grab', 'web.clinic.test');
  const token = claimed.verification!.http.body;
  assert.equal(await platform.edge('web.clinic.test', `/.well-known/slipway-challenge/${token}`).then((a) => a.text === token), false);
  const checked = await squatter.verifyDomain(claimed.id!);
  assert.equal(checked.state, 'pending_verification');
  assert.equal(checked.error?.code, 'verification_failed');
  assert.match(checked.error!.message, new RegExp(`^expected TXT _slipway-challenge\\.web\\.clinic\\.test = "${token}", found: none; `
    + `or http://web\\.clinic\\.test/\\.well-known/slipway-challenge/${token} answering 200 "${token}", found: HTTP 404$`));
  await squatter.removeDomain(claimed.id!);
});

test('redirect_to and https_redirect answer 308; a change of options reaches the edge', async () => {
  const apex = await platform.client.addDomain('site', 'clinic-apex.test', { redirectTo: 'www.clinic-apex.test' });
  const secure = await platform.client.addDomain('site', 'secure.clinic.test', { httpsRedirect: true, hstsMaxAge: 600 });
  dns.setTxt('_slipway-challenge.clinic-apex.test', [apex.verification!.dns.value]);
  dns.setTxt('_slipway-challenge.secure.clinic.test', [secure.verification!.dns.value]);
  await platform.client.verifyDomain(apex.id!);
  await platform.client.verifyDomain(secure.id!);

  const moved = await edgeAnswers('clinic-apex.test', 308, '/page?x=1');
  assert.equal(moved.headers.location, 'http://www.clinic-apex.test/page?x=1');
  const upgraded = await edgeAnswers('secure.clinic.test', 308, '/a');
  // The edge's HTTPS port is not 443 here: the Location carries it.
  assert.equal(upgraded.headers.location, `https://secure.clinic.test:${platform.httpsPort}/a`);
  assert.equal(upgraded.headers['strict-transport-security'], undefined, 'HSTS only over HTTPS');

  const changed = await platform.client.updateDomain(secure.id!, { httpsRedirect: false });
  assert.equal(changed.https_redirect, false);
  assert.equal((await edgeAnswers('secure.clinic.test', 200)).text, 'hello from site v1');
  await platform.client.removeDomain(apex.id!);
  await platform.client.removeDomain(secure.id!);
});

test("a verified tenant base serves every deployment of the tenant at <slug>.<base>", async () => {
  const base = await platform.client.addTenantDomain('apps.brand.test');
  assert.equal(base.kind, 'tenant');
  dns.setTxt('_slipway-challenge.apps.brand.test', [base.verification!.dns.value]);
  assert.equal((await platform.client.verifyDomain(base.id!)).state, 'verified');
  assert.equal((await edgeAnswers('site.apps.brand.test', 200)).text, 'hello from site v1');
  const listed = await platform.client.listDomains('site');
  assert.ok(listed.some((d) => d.kind === 'tenant' && d.hostname === 'site.apps.brand.test' && !d.removable));
  assert.deepEqual((await platform.client.listTenantDomains()).map((d) => d.hostname), ['apps.brand.test']);
  // A name under a claimed base is the base's to serve.
  await assert.rejects(platform.client.removeDomain('site.apps.brand.test'), code('domain_not_removable', 409));
  await platform.client.removeDomain(base.id!);
  await edgeAnswers('site.apps.brand.test', 404);
});

test("another tenant's host is domain_taken for everyone else, its ids are not found, and its base serves its apps", async () => {
  const tenant = await platform.client.createTenant({ slug: 'brand' });
  const key = await platform.client.createKey({ name: 'brand admin', role: 'admin', tenantId: tenant.id });
  const brand = createClient({ baseUrl: platform.apiUrl, token: key.token });
  // The same slug in another tenant: its managed host carries the tenant's slug.
  await brand.createDeployment({ slug: 'site' });
  assert.equal((await brand.publish('site', { files: { 'index.html': 'hello from brand' } }, { wait: true })).version.state, 'ready');
  assert.deepEqual((await brand.listDomains('site')).map((d) => d.hostname), ['site--brand.localhost']);

  const theirs = await brand.addDomain('site', 'shop.brand.test');
  await assert.rejects(platform.client.addDomain('site', 'SHOP.brand.test'), code('domain_taken', 409));
  const c = platform.client;
  for (const call of [() => c.getDomain(theirs.id!), () => c.verifyDomain(theirs.id!), () => c.removeDomain(theirs.id!),
    () => c.updateDomain(theirs.id!, { httpsRedirect: true }), () => c.domainHistory(theirs.id!), () => c.getDomain('shop.brand.test')]) {
    await assert.rejects(call(), code('domain_not_found', 404));
  }

  const base = await brand.addTenantDomain('apps.brand.example');
  dns.setTxt('_slipway-challenge.apps.brand.example', [base.verification!.dns.value]);
  assert.equal((await brand.verifyDomain(base.id!)).state, 'verified');
  assert.equal((await edgeAnswers('site.apps.brand.example', 200)).text, 'hello from brand');
  await assert.rejects(platform.client.addDomain('site', 'x.apps.brand.example'), code('domain_taken', 409));

  // Released, the name is anyone's.
  await brand.removeDomain(theirs.id!);
  const mine = await platform.client.addDomain('site', 'shop.brand.test');
  await platform.client.removeDomain(mine.id!);
  await brand.removeDomain(base.id!);
  await edgeAnswers('site.apps.brand.example', 404);
});

test('the CLI adds, lists, verifies and removes a custom domain, printing the record to create', async () => {
  const added = await platform.cli(['domains', 'add', 'site', 'cli.clinic.test']);
  assert.equal(added.code, 0, added.stderr);
  const token = /_slipway-challenge\.cli\.clinic\.test {2}TXT {2}"([0-9a-f]+)"/.exec(added.stdout)?.[1];
  assert.ok(token, added.stdout);
  assert.match(added.stdout, /http:\/\/cli\.clinic\.test\/\.well-known\/slipway-challenge\//);

  const failed = await platform.cli(['domains', 'verify', 'site', 'cli.clinic.test']);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /expected TXT _slipway-challenge\.cli\.clinic\.test = "[0-9a-f]+", found: none/);

  dns.setTxt('_slipway-challenge.cli.clinic.test', [token]);
  const id = (await platform.client.getDomain('cli.clinic.test')).id!;
  await verifiedAfterRetry(id);
  const verified = await platform.cli(['domains', 'verify', 'site', 'cli.clinic.test']);
  assert.equal(verified.code, 0, verified.stderr);
  const listed = await platform.cli(['domains', 'list', 'site']);
  assert.match(listed.stdout, /cli\.clinic\.test\s+custom\s+verified\s+none/);
  assert.match(listed.stdout, /site\.localhost\s+managed\s+active/);
  const removed = await platform.cli(['domains', 'remove', 'site', 'cli.clinic.test']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await platform.cli(['domains', 'remove', 'site', 'cli.clinic.test'])).code, 1);
});

test('bad host names are refused with the reason', async () => {
  const cases: Array<[string, string]> = [
    ['127.0.0.1', 'ip_literal'], ['[::1]', 'ip_literal'], ['*.example.com', 'wildcard'], ['example.com.', 'trailing_dot'],
    ['app.localhost', 'localhost'], ['bad_label.example.com', 'bad_label'], [`${'a'.repeat(64)}.com`, 'label_too_long'],
  ];
  for (const [hostname, reason] of cases) {
    await assert.rejects(platform.client.addDomain('site', hostname), (err) => isSlipwayApiError(err) && err.code === 'invalid_hostname' && err.details.reason === reason, hostname);
  }
  const unicode = await platform.client.addDomain('site', 'Bücher.test');
  assert.equal(unicode.hostname, 'xn--bcher-kva.test');
  // Found again by its Unicode spelling, through the CLI too.
  const unicodeVerify = await platform.cli(['domains', 'verify', 'site', 'Bücher.test']);
  assert.equal(unicodeVerify.code, 1);
  assert.match(unicodeVerify.stderr, /xn--bcher-kva\.test is not verified yet/);
  await platform.client.removeDomain(unicode.id!);
  await assert.rejects(platform.client.addDomain('site', 'nope'), code('invalid_hostname', 400));
  await assert.rejects(platform.client.getDomain('dom_01jzzzzzzzzzzzzzzzzzzzzzzz'), code('domain_not_found', 404));
});
