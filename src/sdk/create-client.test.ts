import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError } from '../core/errors.js';
import { SlipwayApiError } from './api-error.js';
import { createClient } from './create-client.js';
import { collectAll } from './paginate.js';
import { createFakeFetch, errorResponse, jsonResponse, routes } from '../../test/support/sdk/fake-fetch.js';
import { fakeDeployment, fakeOperation, fakeVersion } from '../../test/support/sdk/fixtures.js';

const BASE = 'http://127.0.0.1:7070';

function clientWith(handler: Parameters<typeof createFakeFetch>[0]) {
  const fake = createFakeFetch(handler);
  return { client: createClient({ baseUrl: BASE, token: 'sk_test', fetch: fake.fetch, userAgent: 'test-agent' }), ...fake };
}

test('createDeployment posts the snake_case body with the bearer key and returns data', async () => {
  const { client, requests } = clientWith(() => jsonResponse(201, { data: fakeDeployment() }));
  const deployment = await client.createDeployment({ slug: 'my-site', spaFallback: true });
  assert.deepEqual(deployment, fakeDeployment());
  const [req] = requests;
  assert.equal(req?.method, 'POST');
  assert.equal(req?.url.href, `${BASE}/api/v1/deployments`);
  assert.equal(req?.headers.get('authorization'), 'Bearer sk_test');
  assert.equal(req?.headers.get('user-agent'), 'test-agent');
  assert.equal(req?.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(req?.body.toString() ?? ''), { slug: 'my-site', spa_fallback: true });
});

test('a base URL with a trailing slash or /api/v1 addresses the same routes, and path parts are encoded', async () => {
  for (const baseUrl of [`${BASE}/`, `${BASE}/api/v1`, `${BASE}/api/v1/`]) {
    const fake = createFakeFetch(() => jsonResponse(200, { data: fakeVersion() }));
    await createClient({ baseUrl, token: 't', fetch: fake.fetch }).getVersion('my site/x', 3);
    assert.equal(fake.requests[0]?.url.pathname, '/api/v1/deployments/my%20site%2Fx/versions/3');
  }
});

test('an error answer becomes a SlipwayApiError with the same code, details and request_id', async () => {
  const { client } = clientWith(() => errorResponse(404, 'deployment_not_found', { message: 'no deployment "nope"', details: { slug: 'nope' } }));
  const err = await client.getDeployment('nope').then(() => assert.fail('expected an error'), (e: unknown) => e);
  assert.ok(err instanceof SlipwayApiError);
  assert.equal(err.status, 404);
  assert.equal(err.code, 'deployment_not_found');
  assert.equal(err.message, 'no deployment "nope"');
  assert.deepEqual(err.details, { slug: 'nope' });
  assert.equal(err.requestId, 'req_test');
  assert.ok(isSlipwayError(err, 'deployment_not_found'), 'is a SlipwayError too');
  assert.deepEqual(err.toJSON(), { code: 'deployment_not_found', message: 'no deployment "nope"', details: { slug: 'nope' }, request_id: 'req_test' });
});

test('an answer that is not the envelope maps by status', async () => {
  const { client } = clientWith(() => new Response('<html>Bad Gateway</html>', { status: 502, headers: { 'x-request-id': 'req_proxy' } }));
  await assert.rejects(client.listDeployments(), (e: unknown) =>
    e instanceof SlipwayApiError && e.code === 'unavailable' && e.status === 502 && e.requestId === 'req_proxy');
});

test('a network failure becomes code unavailable with status 0 and names the server', async () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7070'), { code: 'ECONNREFUSED' });
  const client = createClient({ baseUrl: BASE, token: 't', fetch: async () => { throw new TypeError('fetch failed', { cause: refused }); } });
  await assert.rejects(client.getOperation('op_1'), (e: unknown) =>
    e instanceof SlipwayApiError && e.code === 'unavailable' && e.status === 0 && e.message.includes(BASE) && e.message.includes('ECONNREFUSED'));
});

test('healthz sends no Authorization header', async () => {
  const { client, requests } = clientWith(() => jsonResponse(200, { data: { status: 'ok' } }));
  assert.deepEqual(await client.healthz(), { status: 'ok' });
  assert.equal(requests[0]?.headers.get('authorization'), null);
  assert.equal(requests[0]?.url.pathname, '/api/v1/healthz');
});

test('update and delete use PATCH and DELETE on the deployment', async () => {
  const { client, requests } = clientWith(() => jsonResponse(200, { data: fakeDeployment() }));
  await client.updateDeployment('my-site', { spaFallback: false, name: 'Mine' });
  await client.deleteDeployment('dep_01jtest');
  assert.deepEqual(requests.map((r) => `${r.method} ${r.url.pathname}`), ['PATCH /api/v1/deployments/my-site', 'DELETE /api/v1/deployments/dep_01jtest']);
  assert.deepEqual(JSON.parse(requests[0]?.body.toString() ?? ''), { name: 'Mine', spa_fallback: false });
});

test('rollback sends {to} or {version_id} with the Idempotency-Key', async () => {
  const { client, requests } = clientWith(() => jsonResponse(200, { data: { deployment: fakeDeployment(), version: fakeVersion(), services: [], promoted: true } }));
  await client.rollback('my-site', { to: 2 }, { idempotencyKey: 'rb-1' });
  await client.rollback('my-site', { versionId: 'ver_2' });
  assert.equal(requests[0]?.url.pathname, '/api/v1/deployments/my-site/rollback');
  assert.equal(requests[0]?.headers.get('idempotency-key'), 'rb-1');
  assert.deepEqual(JSON.parse(requests[0]?.body.toString() ?? ''), { to: 2 });
  assert.equal(requests[1]?.headers.get('idempotency-key'), null);
  assert.deepEqual(JSON.parse(requests[1]?.body.toString() ?? ''), { version_id: 'ver_2' });
});

test('lists pass limit, cursor and filters and expose next_cursor; collectAll follows every page', async () => {
  const { client, requests } = clientWith(routes({
    'GET /deployments/my-site/versions': (req) => req.url.searchParams.get('cursor') === null
      ? jsonResponse(200, { data: [fakeVersion({ version_number: 3 }), fakeVersion({ version_number: 2 })], next_cursor: 'c2' })
      : jsonResponse(200, { data: [fakeVersion({ version_number: 1 })], next_cursor: null }),
    'GET /deployments': () => jsonResponse(200, { data: [], next_cursor: null }),
  }));
  const all = await collectAll((cursor) => client.listVersions('my-site', { cursor, limit: 2 }));
  assert.deepEqual(all.map((v) => v.version_number), [3, 2, 1]);
  assert.equal(requests[1]?.url.search, '?limit=2&cursor=c2');
  const page = await client.listDeployments({ projectId: 'prj_1', externalWorkspaceId: 'ws 9' });
  assert.deepEqual(page, { data: [], nextCursor: null });
  assert.equal(requests[2]?.url.search, '?project_id=prj_1&external_workspace_id=ws+9');
});

test('getBuildLog returns the text/plain body of the version by number', async () => {
  const { client, requests } = clientWith(() => new Response('$ npm run build\nok\n', { headers: { 'content-type': 'text/plain' } }));
  assert.equal(await client.getBuildLog('my-site', 2), '$ npm run build\nok\n');
  assert.equal(requests[0]?.url.pathname, '/api/v1/deployments/my-site/versions/2/build-log');
});

test('waitForOperation long-polls until the operation leaves running', async () => {
  let polls = 0;
  const { client, requests } = clientWith(() => jsonResponse(200, { data: fakeOperation({ state: ++polls < 3 ? 'running' : 'failed' }) }));
  const seen: string[] = [];
  const op = await client.waitForOperation('op_01jtest', { pollSeconds: 5, onPoll: (o) => seen.push(o.state) });
  assert.equal(op.state, 'failed');
  assert.deepEqual(seen, ['running', 'running', 'failed']);
  assert.equal(requests[0]?.url.search, '?wait_seconds=5', 'the server holds each poll');
});
