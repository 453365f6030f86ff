// Tenant isolation through real processes (issue 11): a key of tenant B gets, for each of
// tenant A's ids on every route of the OpenAPI document, the very 404 a made-up id of the same
// kind gets. The walk is generated from the document, so a new route is checked the day it
// lands, and it fails if one route forgets the tenant filter. Also: the same slug in two
// tenants, read-only keys, revoked keys, and a suspended tenant's instance stopping and coming back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, type IdPrefix } from '../../src/core/ids.js';
import type { Route } from '../../src/core/routes.js';
import { createClient, isSlipwayApiError, type SlipwayClient } from '../../src/sdk/index.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
/** What tenant A owns: one of each kind of object the API has ids for. */
const a = { tenantId: '', token: '', deploymentId: '', versionId: '', serviceId: '', instanceId: '', operationId: '', keyId: '', domainId: '' };
/** The custom host name A claims (domains are unique across tenants, so B's made-up one differs). */
const A_HOST = 'www.alpha-shop.test';
const b = { tenantId: '', token: '', deploymentId: '' };
let clientA: SlipwayClient;
let clientB: SlipwayClient;

/** A Node server that logs a line per request, so A has logs. */
const SERVER_JS = `
const http = require('node:http');
http.createServer((req, res) => { console.log('served ' + req.url); res.end('shop of alpha'); })
  .listen(Number(process.env.PORT), () => console.log('listening'));
`;

before(async () => {
  platform = await startPlatform();
  const operator = platform.client;
  const alpha = await operator.createTenant({ slug: 'alpha', displayName: 'Alpha' });
  const bravo = await operator.createTenant({ slug: 'bravo' });
  a.tenantId = alpha.id;
  b.tenantId = bravo.id;
  a.token = (await operator.createKey({ name: 'alpha admin', role: 'admin', tenantId: alpha.id })).token;
  b.token = (await operator.createKey({ name: 'bravo admin', role: 'admin', tenantId: bravo.id })).token;
  clientA = createClient({ baseUrl: platform.apiUrl, token: a.token });
  clientB = createClient({ baseUrl: platform.apiUrl, token: b.token });
  a.keyId = (await clientA.createKey({ name: 'alpha ci', role: 'member' })).id;

  a.deploymentId = (await clientA.createDeployment({ slug: 'shop', externalWorkspaceId: 'cust-1' })).id;
  await clientA.updateEnv('shop', { set: { GREETING: 'hi' } });
  const published = await clientA.publish('shop', { files: { 'server.js': SERVER_JS } }, {
    wait: true, runCommand: 'node server.js', port: 3000,
    settings: { health_grace_period_ms: 1500, health_interval_ms: 200, drain_timeout_ms: 1000 },
  });
  assert.equal(published.version.state, 'ready', JSON.stringify(published.version.error));
  a.versionId = published.version.id;
  a.operationId = published.operation!.id;
  const [web] = await clientA.listServices('shop');
  a.serviceId = web!.id;
  const instance = await waitFor(async () => (await clientA.listInstances('shop')).find((i) => i.state === 'healthy'), { timeoutMs: 60_000, description: "A's instance healthy" });
  a.instanceId = instance.id;
  // The app logs a line when it listens.
  await waitFor(async () => (await clientA.getLogs('shop')).length > 0, { timeoutMs: 30_000, description: 'a log line of A' });

  // A custom domain, where the server has them (issue 11's domains part).
  const doc = await (await fetch(`${platform.apiUrl}/api/v1/openapi.json`)).json() as { paths: Record<string, unknown> };
  if (doc.paths['/api/v1/deployments/{deployment}/domains']) {
    const res = await call('POST', '/api/v1/deployments/shop/domains', { token: a.token, body: { hostname: A_HOST } });
    assert.equal(res.status, 201, res.text);
    a.domainId = (JSON.parse(res.text) as { data: { id: string } }).data.id;
  }

  // B has a deployment of its own with the same slug: slugs are unique per tenant.
  b.deploymentId = (await clientB.createDeployment({ slug: 'shop' })).id;
});
after(async () => platform?.stop());

/** A's id for each path parameter name, and what kind of id a made-up one is. */
function idsFor(): Record<string, { own: string; prefix: IdPrefix }> {
  return {
    deployment: { own: a.deploymentId, prefix: 'dep' },
    version: { own: a.versionId, prefix: 'ver' },
    service: { own: a.serviceId, prefix: 'svc' },
    instance: { own: a.instanceId, prefix: 'rti' },
    id: { own: a.operationId, prefix: 'op' },
    key: { own: a.keyId, prefix: 'key' },
    ...(a.domainId ? { domain: { own: a.domainId, prefix: 'dom' as const } } : {}),
  };
}

/** A body each route accepts, so that only the id can make the answer a 404. */
const BODIES: Record<string, unknown> = {
  'PATCH /api/v1/deployments/{deployment}': { name: 'renamed' },
  'POST /api/v1/deployments/{deployment}/publish': { files: { 'index.html': 'x' } },
  'POST /api/v1/deployments/{deployment}/redeploy': {},
  'POST /api/v1/deployments/{deployment}/rollback': { to: 1 },
  'PATCH /api/v1/deployments/{deployment}/env': { set: { X: 'y' } },
  'PATCH /api/v1/services/{service}': { desired_replicas: 1 },
  'POST /api/v1/deployments/{deployment}/domains': { hostname: 'www.made-up-by-bravo.test' },
};

/**
 * Routes the walk does not call with A's ids, each for a reason: the tenant routes are the
 * operator's (a tenant key is `forbidden` there whatever the id, checked below), and the
 * routes without a path parameter act on the caller's own tenant (the lists are checked below).
 */
const OPERATOR_ONLY = /^\/api\/v1\/(tenants|admin)\b/;

async function call(method: string, path: string, as: { token: string; body?: unknown }): Promise<{ status: number; code: string | undefined; text: string }> {
  const res = await fetch(`${platform.apiUrl}${path}`, {
    method, headers: { authorization: `Bearer ${as.token}`, ...(as.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: as.body === undefined ? undefined : JSON.stringify(as.body),
    // A stream that should have been refused but was opened must not hang the test.
    signal: AbortSignal.timeout(10_000),
  });
  const text = res.headers.get('content-type')?.includes('text/event-stream') ? (await res.body?.cancel(), '') : await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code, text };
}

/**
 * Opens a `?follow=true` stream and reads its first chunk; `ended()` resolves when the server
 * ends it, and rejects if it has not within `deadlineMs` (the stream is then aborted).
 */
async function openStream(path: string, token: string): Promise<{ ended(deadlineMs: number): Promise<void>; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(`${platform.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  assert.equal(res.status, 200, path);
  const reader = res.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /: connected/);
  return {
    async ended(deadlineMs) {
      const timer = setTimeout(() => controller.abort(new Error(`${path} still open after ${deadlineMs} ms`)), deadlineMs);
      try {
        while (!(await reader.read()).done);
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => controller.abort(),
  };
}

test("every route answers B's key for A's ids exactly as for ids that do not exist", async () => {
  const doc = await (await fetch(`${platform.apiUrl}/api/v1/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
  const ids = idsFor();
  const checked: string[] = [];
  for (const [template, operations] of Object.entries(doc.paths)) {
    const params = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    if (params.length === 0 || OPERATOR_ONLY.test(template)) continue;
    for (const method of Object.keys(operations).map((m) => m.toUpperCase())) {
      const known = params.filter((p) => ids[p]);
      assert.ok(known.length > 0, `${method} ${template}: no id of tenant A for {${params.join('}, {')}}; add one to idsFor()`);
      const fill = (pick: (p: string) => string) => template.replace(/\{([^}]+)\}/g, (_, p: string) => encodeURIComponent(pick(p)));
      // A parameter the table does not know (a newer route) gets the same made-up value in both calls.
      const fallback = (p: string) => `unknown-${p}`;
      const foreign = fill((p) => ids[p]?.own ?? fallback(p));
      const madeUp = fill((p) => (ids[p] ? newId(ids[p].prefix) : fallback(p)));
      const variants = [[foreign, madeUp]];
      // With several ids, B's own deployment first and A's id after it: the inner lookup filters too.
      if (params[0] === 'deployment' && params.length > 1) {
        variants.push([fill((p) => (p === 'deployment' ? b.deploymentId : ids[p]?.own ?? fallback(p))), fill((p) => (p === 'deployment' ? b.deploymentId : ids[p] ? newId(ids[p].prefix) : fallback(p)))]);
      }
      // A domain is also named by its host name.
      if (params.includes('domain')) variants.push([fill((p) => (p === 'domain' ? A_HOST : ids[p]?.own ?? fallback(p))), fill((p) => (p === 'domain' ? 'www.nobody-has-this.test' : ids[p] ? newId(ids[p].prefix) : fallback(p)))]);
      // The live streams are refused the same way before they open.
      if (method === 'GET' && /\/(events|logs)$/.test(template)) variants.push([`${foreign}?follow=true`, `${madeUp}?follow=true`]);
      const body = BODIES[`${method} ${template}`] ?? (method === 'GET' || method === 'DELETE' ? undefined : {});
      for (const [theirs, none] of variants) {
        const expected = await call(method, none!, { token: b.token, body });
        assert.equal(expected.status, 404, `${method} ${none} with a made-up id: ${expected.status} ${expected.text.slice(0, 300)} (give the route a valid body in BODIES)`);
        const got = await call(method, theirs!, { token: b.token, body });
        assert.equal(got.status, 404, `${method} ${theirs} with tenant A's id answered B's key ${got.status}: ${got.text.slice(0, 300)}`);
        assert.equal(got.code, expected.code, `${method} ${theirs}: A's id is ${got.code}, a made-up one ${expected.code}`);
        checked.push(`${method} ${template}`);
      }
    }
  }
  for (const route of ['GET /api/v1/deployments/{deployment}/events', 'GET /api/v1/runtime-instances/{instance}/logs', 'GET /api/v1/operations/{id}', 'DELETE /api/v1/keys/{key}']) {
    assert.ok(checked.includes(route), `${route} was walked (found ${checked.length} checks)`);
  }

  // The same ids still work for A: the 404s above are isolation, not broken ids.
  assert.equal((await call('GET', `/api/v1/runtime-instances/${a.instanceId}/logs`, { token: a.token })).status, 200);
  assert.equal((await call('GET', `/api/v1/operations/${a.operationId}`, { token: a.token })).status, 200);
  assert.equal((await call('GET', `/api/v1/deployments/${a.deploymentId}/versions/${a.versionId}`, { token: a.token })).status, 200);
});

test("lists show B nothing of A's, and the operator's routes refuse tenant keys", async () => {
  // Every list of the document (a GET without path parameters), walked like the routes above.
  const doc = await (await fetch(`${platform.apiUrl}/api/v1/openapi.json`)).json() as { paths: Record<string, Record<string, unknown>> };
  const lists = Object.keys(doc.paths).filter((p) => !p.includes('{') && doc.paths[p]!.get && !OPERATOR_ONLY.test(p));
  assert.ok(lists.includes('/api/v1/deployments') && lists.includes('/api/v1/keys'), lists.join(' '));
  for (const path of [...lists, '/api/v1/deployments?external_workspace_id=cust-1']) {
    const res = await call('GET', path, { token: b.token });
    assert.equal(res.status, 200, `${path}: ${res.text}`);
    for (const id of [a.deploymentId, a.keyId, a.tenantId, a.domainId || a.tenantId, A_HOST]) assert.ok(!res.text.includes(id), `${path} shows B ${id} of A: ${res.text}`);
  }
  // Another tenant is not found, like a made-up one; its own tenant is GET /api/v1/tenant.
  assert.equal((await call('GET', `/api/v1/tenants/${a.tenantId}`, { token: b.token })).code, 'tenant_not_found');
  assert.equal((await call('GET', `/api/v1/tenants/${newId('ten')}`, { token: b.token })).code, 'tenant_not_found');
  for (const [method, path] of [['GET', '/api/v1/tenants'], ['POST', `/api/v1/tenants/${a.tenantId}/suspend`], ['DELETE', `/api/v1/tenants/${a.tenantId}`], ['POST', '/api/v1/admin/gc']] as const) {
    const res = await call(method, path, { token: b.token, body: method === 'POST' ? {} : undefined });
    assert.equal(res.status, 403, `${method} ${path} with a tenant admin key: ${res.text}`);
  }
  const projects = await clientA.listProjects();
  assert.deepEqual(projects.data.map((p) => p.external_workspace_id).sort(), ['cust-1', null].sort());
  const listed = await clientA.listDeployments({ externalWorkspaceId: 'cust-1' });
  assert.deepEqual(listed.data.map((d) => d.id), [a.deploymentId]);
  assert.equal((await clientA.listDeployments({ externalWorkspaceId: 'cust-2' })).data.length, 0);
  assert.equal((await call('GET', `/api/v1/deployments/shop/events?external_workspace_id=cust-2`, { token: a.token })).code, 'deployment_not_found');
  assert.equal((await call('GET', `/api/v1/deployments/shop/events?external_workspace_id=cust-1`, { token: a.token })).status, 200);
});

test('the same slug lives in two tenants, each key sees its own', async () => {
  assert.equal((await clientA.getDeployment('shop')).id, a.deploymentId);
  assert.equal((await clientB.getDeployment('shop')).id, b.deploymentId);
  const taken = await clientB.createDeployment({ slug: 'shop' }).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(taken) && taken.code === 'deployment_exists', String(taken));
  // `<slug>--bravo` must fit one DNS label of 63 characters: 56 + 2 + 5 is too long, 56 fits alone.
  const long = 'x'.repeat(57);
  const refused = await clientB.createDeployment({ slug: long }).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(refused) && refused.code === 'invalid_slug', String(refused));
  assert.equal((await clientB.createDeployment({ slug: 'x'.repeat(56) })).slug, 'x'.repeat(56));
  // A refused create leaves no project behind for the new workspace.
  const refusedInWorkspace = await clientB.createDeployment({ slug: 'shop', externalWorkspaceId: 'cust-refused' }).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(refusedInWorkspace) && refusedInWorkspace.code === 'deployment_exists', String(refusedInWorkspace));
  assert.ok(!(await clientB.listProjects()).data.some((p) => p.external_workspace_id === 'cust-refused'), 'no empty project for the workspace');
});

test('a slug of the form v<N> is refused in every tenant: it would take a preview host', async () => {
  // `v1` in tenant alpha would be v1--alpha, the preview host of the default tenant's `alpha`.
  for (const client of [clientA, clientB, platform.client]) {
    const preview = await client.createDeployment({ slug: 'v1' }).catch((err: unknown) => err);
    assert.ok(isSlipwayApiError(preview) && preview.code === 'invalid_slug' && preview.details.reason === 'preview_syntax', String(preview));
  }
  assert.equal((await clientB.createDeployment({ slug: 'v1x' })).slug, 'v1x');
});

test('a read-only key reads but changes nothing; a revoked key is refused at once', async () => {
  const readOnly = await clientA.createKey({ name: 'viewer', role: 'read_only' });
  const viewer = createClient({ baseUrl: platform.apiUrl, token: readOnly.token });
  assert.equal((await viewer.getDeployment('shop')).id, a.deploymentId);
  const res = await call('POST', '/api/v1/deployments', { token: readOnly.token, body: { slug: 'nope' } });
  assert.equal(res.status, 403);
  assert.equal(res.code, 'forbidden');
  assert.equal((await call('PATCH', '/api/v1/deployments/shop', { token: readOnly.token, body: { name: 'x' } })).code, 'forbidden');
  const listed = await clientA.listKeys();
  assert.ok(listed.data.some((k) => k.id === readOnly.id && k.role === 'read_only'));
  assert.ok(!JSON.stringify(listed).includes(readOnly.token), 'a list never shows a token');
  // Its open streams end with the revocation instead of leaking what comes next.
  const streams = [
    await openStream('/api/v1/deployments/shop/events?follow=true', readOnly.token),
    await openStream('/api/v1/deployments/shop/logs?follow=true', readOnly.token),
  ];
  try {
    await clientA.revokeKey(readOnly.id);
    assert.equal((await call('GET', '/api/v1/deployments/shop', { token: readOnly.token })).status, 401);
    for (const stream of streams) await stream.ended(15_000);
  } finally {
    for (const stream of streams) stream.close();
  }
});

test("the default tenant's admins neither see nor revoke the operator key", async () => {
  const operatorKey = (await platform.client.listKeys()).data.find((k) => k.role === 'operator');
  assert.ok(operatorKey, 'the operator sees its own key');
  const admin = await platform.client.createKey({ name: 'default admin', role: 'admin' });
  const listed = await call('GET', '/api/v1/keys', { token: admin.token });
  assert.equal(listed.status, 200);
  assert.ok(!listed.text.includes(operatorKey.id) && !listed.text.includes('"operator"') && !listed.text.includes('"internal"'), listed.text);
  assert.equal((await call('DELETE', `/api/v1/keys/${operatorKey.id}`, { token: admin.token })).code, 'key_not_found');
  assert.ok((await platform.client.listKeys()).data.some((k) => k.id === operatorKey.id), 'the operator key still works');
  await platform.client.revokeKey(admin.id);
});

test("a suspended tenant's instance stops and comes back on resume; its route says suspended", async () => {
  const internalRoute = async (): Promise<Route | undefined> => {
    const res = await call('GET', '/api/v1/internal/routes', { token: platform.internalToken });
    return (JSON.parse(res.text) as { data: Route[] }).data.find((r) => r.deployment_id === a.deploymentId);
  };
  assert.equal((await internalRoute())?.tenant?.suspended, undefined);
  const leaked = await clientA.createKey({ name: 'leaked', role: 'member' });
  const suspended = await platform.client.suspendTenant(a.tenantId);
  assert.equal(suspended.state, 'suspended');
  assert.equal((await internalRoute())?.tenant?.suspended, true);
  await waitFor(async () => (await clientA.listInstances('shop')).every((i) => i.desired === 'stopped' && i.state === 'stopped'), { timeoutMs: 30_000, description: "A's instances stopped" });
  // Nothing is deleted, and the tenant's keys only read while it is suspended.
  assert.equal((await clientA.getDeployment('shop')).active_version_id, a.versionId);
  assert.equal((await call('PATCH', '/api/v1/deployments/shop', { token: a.token, body: { name: 'x' } })).code, 'forbidden');
  // ... but a leaked key stays revocable.
  assert.equal((await call('DELETE', `/api/v1/keys/${leaked.id}`, { token: a.token })).status, 200);
  assert.equal((await call('GET', '/api/v1/deployments/shop', { token: leaked.token })).status, 401);

  await platform.client.resumeTenant(a.tenantId);
  assert.equal((await internalRoute())?.tenant?.suspended, undefined);
  await waitFor(async () => (await clientA.listInstances('shop')).some((i) => i.desired === 'running' && i.state === 'healthy'), { timeoutMs: 60_000, description: "A's instance back" });
  // The default tenant is the operator's own: it cannot be suspended.
  const own = await platform.client.getOwnTenant();
  const refused = await platform.client.suspendTenant(own.id).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(refused) && refused.code === 'invalid_request', String(refused));
});

test("branding is checked before it is stored, and reaches the tenant's routes", async () => {
  for (const bad of [{ logo_url: 'javascript:alert(1)' }, { primary_color: 'red' }, { pages: { suspended: 'x'.repeat(64 * 1024 + 1) } }, { pages: { suspended: 'x'.repeat(40 * 1024), not_found: 'y'.repeat(40 * 1024) } }, { pages: { teapot: 'x' } }, { font: 'comic' }]) {
    const res = await call('PATCH', '/api/v1/tenant', { token: a.token, body: { branding: bad } });
    assert.equal(res.code, 'invalid_request', `${JSON.stringify(bad).slice(0, 80)}: ${res.text.slice(0, 200)}`);
  }
  const branding = { display_name: 'Alpha Shops', logo_url: 'https://alpha.example/logo.png', primary_color: '#0a84ff', pages: { suspended: '<h1>Back soon</h1>' } };
  assert.deepEqual((await clientA.updateOwnTenant({ branding })).branding, branding);
  const res = await call('GET', '/api/v1/internal/routes', { token: platform.internalToken });
  const route = (JSON.parse(res.text) as { data: Route[] }).data.find((r) => r.deployment_id === a.deploymentId);
  assert.deepEqual(route?.tenant?.branding, branding);
  assert.equal(route?.label, 'shop--alpha');
  // A member may not brand the tenant; B's admin cannot touch A's.
  const member = await clientA.createKey({ name: 'dev', role: 'member' });
  assert.equal((await call('PATCH', '/api/v1/tenant', { token: member.token, body: { display_name: 'x' } })).code, 'forbidden');
  assert.equal((await call('PATCH', `/api/v1/tenants/${a.tenantId}`, { token: b.token, body: { display_name: 'x' } })).code, 'forbidden');
});

test('deleting a tenant deletes its deployments, frees its slug and revokes its keys', async () => {
  const operator = platform.client;
  const charlie = await operator.createTenant({ slug: 'charlie' });
  const { token } = await operator.createKey({ name: 'charlie admin', role: 'admin', tenantId: charlie.id });
  await createClient({ baseUrl: platform.apiUrl, token }).createDeployment({ slug: 'site' });
  const withDomains = a.domainId !== '';
  if (withDomains) assert.equal((await call('POST', '/api/v1/deployments/site/domains', { token, body: { hostname: 'www.charlie.test' } })).status, 201);
  const taken = await operator.createTenant({ slug: 'charlie' }).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(taken) && taken.code === 'tenant_exists', String(taken));

  await operator.deleteTenant(charlie.id);
  assert.equal((await call('GET', '/api/v1/deployments', { token })).status, 401, "a deleted tenant's key is refused");
  const gone = await operator.getTenant(charlie.id).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(gone) && gone.code === 'tenant_not_found', String(gone));
  const again = await operator.createTenant({ slug: 'charlie' });
  const { token: fresh } = await operator.createKey({ name: 'charlie admin', role: 'admin', tenantId: again.id });
  assert.deepEqual((await createClient({ baseUrl: platform.apiUrl, token: fresh }).listDeployments()).data, [], 'the new tenant starts empty');
  if (withDomains) {
    await createClient({ baseUrl: platform.apiUrl, token: fresh }).createDeployment({ slug: 'site' });
    const claimed = await call('POST', '/api/v1/deployments/site/domains', { token: fresh, body: { hostname: 'www.charlie.test' } });
    assert.equal(claimed.status, 201, `the deleted tenant's host name is free again: ${claimed.text}`);
  }
  const own = await operator.getOwnTenant();
  const refused = await operator.deleteTenant(own.id).catch((err: unknown) => err);
  assert.ok(isSlipwayApiError(refused) && refused.code === 'invalid_request', String(refused));
});

test('the CLI manages tenants and keys, and shows a key once', async () => {
  const created = await platform.cli(['tenants', 'create', 'delta', '--display-name', 'Delta', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const delta = JSON.parse(created.stdout) as { id: string; slug: string };
  assert.equal(delta.slug, 'delta');
  const listed = await platform.cli(['tenants', 'list']);
  assert.match(listed.stdout, /delta .*active/);
  const key = await platform.cli(['keys', 'create', 'delta admin', '--role', 'admin', '--tenant', delta.id]);
  assert.equal(key.code, 0, key.stderr);
  const token = /^(sk_\S+)$/m.exec(key.stdout)?.[1];
  assert.ok(token, key.stdout);
  assert.match(key.stderr, /not shown again/);
  const keys = await platform.cli(['keys', 'list', '--tenant', 'delta']);
  assert.match(keys.stdout, /delta admin +admin/);
  assert.ok(!keys.stdout.includes(token), 'a listed key never shows its token');
  assert.match((await platform.cli(['tenants', 'suspend', 'delta'])).stdout, /Suspended tenant delta .*: suspended/);
  assert.match((await platform.cli(['tenants', 'resume', delta.id])).stdout, /Resumed tenant delta .*: active/);
  assert.equal((await platform.cli(['tenants', 'delete', 'delta'])).code, 2, 'refused without --yes');
  assert.equal((await platform.cli(['tenants', 'delete', 'delta', '--yes'])).code, 0);
  assert.equal((await call('GET', '/api/v1/deployments', { token })).status, 401);
});
