// White-label pages through real processes (issue 11): a tenant's app on its managed host, the
// edge's own 404 there neutral, then in the tenant's branding once the operator sets it (the
// route feed carries it to the edge), the tenant's own suspension page on the app's hosts while
// it is suspended, and the app again once it is resumed. No answer names the platform.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../../src/sdk/index.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type EdgeAnswer, type Platform } from '../support/platform.js';

let platform: Platform;
let tenantId = '';
const HOST = 'site--acme.localhost';
const PREVIEW = 'v1--site--acme.localhost';
const OWN_SUSPENDED = '<!doctype html><title>Paused</title><p>Acme has paused this site.</p>';

before(async () => {
  platform = await startPlatform();
  const tenant = await platform.client.createTenant({ slug: 'acme', displayName: 'Acme' });
  tenantId = tenant.id;
  const { token } = await platform.client.createKey({ name: 'acme admin', role: 'admin', tenantId });
  const acme = createClient({ baseUrl: platform.apiUrl, token });
  await acme.createDeployment({ slug: 'site' });
  const published = await acme.publish('site', { files: { 'index.html': '<h1>acme site</h1>' } }, { wait: true });
  assert.equal(published.version.state, 'ready', JSON.stringify(published.version.error));
});
after(async () => platform?.stop());

function assertNoPlatformWord(what: string, res: EdgeAnswer): void {
  for (const [name, value] of Object.entries(res.headers)) {
    assert.doesNotMatch(`${name}: ${String(value)}`, /slipway/i, `${what}: header`);
  }
  assert.doesNotMatch(res.text, /slipway/i, `${what}: body`);
}

test("the edge's pages on a tenant's host are neutral, then branded, then its suspension page, and the app comes back", async () => {
  const home = await waitFor(async () => {
    const res = await platform.edge(HOST, '/');
    return res.status === 200 ? res : undefined;
  }, { timeoutMs: 30_000, description: 'the tenant app served at its managed host' });
  assert.match(home.text, /acme site/);

  const neutral = await platform.edge(HOST, '/missing');
  assert.equal(neutral.status, 404);
  assertNoPlatformWord('neutral 404', neutral);
  assert.doesNotMatch(neutral.text, /Acme/, 'no branding set: nobody is named');

  await platform.client.updateTenant(tenantId, {
    branding: { display_name: 'Acme <Health>', primary_color: '#0a7d5c', pages: { suspended: OWN_SUSPENDED } },
  });
  const branded = await waitFor(async () => {
    const res = await platform.edge(HOST, '/missing');
    return res.text.includes('Acme &lt;Health&gt;') ? res : undefined;
  }, { timeoutMs: 30_000, description: 'the 404 in the tenant branding' });
  assert.equal(branded.status, 404);
  assert.match(branded.text, /#0a7d5c/);
  assert.doesNotMatch(branded.text, /<Health>/, 'the name is escaped');
  assertNoPlatformWord('branded 404', branded);
  const probe = await platform.edge(HOST, '/_slipway/health');
  assert.equal(probe.status, 404, 'the health probe is not answered on a tenant host');
  assertNoPlatformWord('health path', probe);

  await platform.client.suspendTenant(tenantId);
  for (const host of [HOST, PREVIEW]) {
    const paused = await waitFor(async () => {
      const res = await platform.edge(host, '/');
      return res.status === 503 ? res : undefined;
    }, { timeoutMs: 30_000, description: `${host} suspended` });
    assert.equal(paused.text, OWN_SUSPENDED);
    assert.equal(paused.headers['retry-after'], undefined);
    assertNoPlatformWord(`suspended ${host}`, paused);
  }

  await platform.client.resumeTenant(tenantId);
  for (const host of [HOST, PREVIEW]) {
    await waitFor(async () => (await platform.edge(host, '/')).text.includes('acme site'), { timeoutMs: 30_000, description: `${host} back` });
  }
});
