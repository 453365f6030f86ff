import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorResponse, jsonResponse, routes, sseResponse } from '../../test/support/sdk/fake-fetch.js';
import { fakeDeployment, fakeEvent, fakePublishResult, fakeVersion } from '../../test/support/sdk/fixtures.js';
import { calls, runCliWith } from '../../test/support/cli/cli-harness.js';

test('deployments list --json prints exactly the data of every page as one document', async () => {
  const a = fakeDeployment({ id: 'dep_a', slug: 'a' });
  const b = fakeDeployment({ id: 'dep_b', slug: 'b' });
  const run = await runCliWith(routes({
    'GET /deployments': (req) => req.url.searchParams.get('cursor')
      ? jsonResponse(200, { data: [b], next_cursor: null })
      : jsonResponse(200, { data: [a], next_cursor: 'c1' }),
  }), ['deployments', 'list', '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), [a, b]);
  assert.equal(run.stderr, '');
  assert.deepEqual(calls(run.requests), ['GET /deployments?limit=100', 'GET /deployments?limit=100&cursor=c1']);
});

test('deployments list prints a table for humans', async () => {
  const run = await runCliWith(() => jsonResponse(200, { data: [fakeDeployment()], next_cursor: null }), ['deployments', 'list']);
  assert.equal(run.stdout, 'SLUG     STATE   ACTIVE  URL\nmy-site  active  v3      http://my-site.localhost:8080\n');
});

test('an API error prints "error: <message> (<code>)" on stderr and exits 1', async () => {
  const run = await runCliWith(() => errorResponse(404, 'deployment_not_found', { message: 'no deployment "nope"' }), ['deployments', 'status', 'nope']);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.equal(run.stderr, 'error: no deployment "nope" (deployment_not_found)\n');
});

test('with --json an error is the error object as JSON on stderr', async () => {
  const run = await runCliWith(() => errorResponse(404, 'deployment_not_found', { details: { slug: 'nope' } }), ['deployments', 'status', 'nope', '--json']);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.deepEqual(JSON.parse(run.stderr), { code: 'deployment_not_found', message: 'deployment_not_found', details: { slug: 'nope' }, request_id: 'req_test' });
});

test('an unreachable server exits 1 with code unavailable', async () => {
  const run = await runCliWith(() => { throw new TypeError('fetch failed'); }, ['deployments', 'list']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^error: cannot reach the Slipway API at http:\/\/api\.test: fetch failed \(unavailable\)\n$/);
});

test('usage errors exit 2 without calling the API', async () => {
  for (const argv of [['publish', '.'], ['rollback', 'my-site', '--to', 'abc'], ['rollback', 'my-site'], ['nope'], ['versions'], ['deployments', 'list', '--bogus'],
    ['scale', 'my-site', 'two'], ['publish', '.', '--deployment', 'x', '--set', 'bogus=1'], ['publish', '.', '--deployment', 'x', '--port', '-1']]) {
    const run = await runCliWith(() => assert.fail('no request expected'), argv);
    assert.equal(run.code, 2, argv.join(' '));
    assert.match(run.stderr, /error:/, argv.join(' '));
    assert.equal(run.requests.length, 0);
  }
});

test('--help exits 0 and needs no credentials', async () => {
  const run = await runCliWith(() => assert.fail('no request expected'), ['publish', '--help'], { env: {} });
  assert.equal(run.code, 0);
  assert.match(run.stdout, /--deployment <slug>/);
});

test('versions prints number, state, kind, created and marks the active one', async () => {
  const run = await runCliWith(routes({
    'GET /deployments/my-site/versions': () => jsonResponse(200, {
      data: [fakeVersion({ version_number: 4, state: 'failed' }), fakeVersion({ version_number: 3 })], next_cursor: null,
    }),
    'GET /deployments/my-site': () => jsonResponse(200, { data: fakeDeployment() }),
  }), ['versions', 'my-site']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, [
    'VERSION  STATE   KIND    CREATED              ACTIVE',
    'v4       failed  static  2026-11-22 10:00:00',
    'v3       ready   static  2026-11-22 10:00:00  * active',
    '',
  ].join('\n'));
});

test('rollback --to sends the version number and reports the URL', async () => {
  const result = fakePublishResult(fakeVersion({ version_number: 2 }));
  const run = await runCliWith(() => jsonResponse(200, { data: result }), ['rollback', 'my-site', '--to', '2']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(calls(run.requests), ['POST /deployments/my-site/rollback']);
  assert.deepEqual(JSON.parse(run.requests[0]?.body.toString() ?? ''), { to: 2 });
  assert.equal(run.stdout, 'Rolled back my-site to v2 → http://my-site.localhost:8080\n');
  const json = await runCliWith(() => jsonResponse(200, { data: result }), ['rollback', 'my-site', '--to', '2', '--json']);
  assert.deepEqual(JSON.parse(json.stdout), result);
});

test('logs --build prints the latest version\'s build log, or the one asked for', async () => {
  const handler = routes({
    'GET /deployments/my-site/versions': () => jsonResponse(200, { data: [fakeVersion({ version_number: 5 })], next_cursor: 'c' }),
    'GET /deployments/my-site/versions/5/build-log': () => new Response('building 5\n'),
    'GET /deployments/my-site/versions/2/build-log': () => new Response('building 2'),
  });
  const latest = await runCliWith(handler, ['logs', 'my-site', '--build']);
  assert.equal(latest.stdout, 'building 5\n');
  assert.deepEqual(calls(latest.requests), ['GET /deployments/my-site/versions?limit=1', 'GET /deployments/my-site/versions/5/build-log']);
  const second = await runCliWith(handler, ['logs', 'my-site', '--build', '--version', '2', '--json']);
  assert.deepEqual(JSON.parse(second.stdout), { version_number: 2, log: 'building 2' });
});

test('events lists oldest first; --follow prints each streamed event', async () => {
  const queued = fakeEvent({ id: 'evt_1', type: 'version.queued', reason: 'publish' });
  const ready = fakeEvent({ id: 'evt_2', type: 'version.ready', reason: 'build finished' });
  const listed = await runCliWith(() => jsonResponse(200, { data: [ready, queued], next_cursor: null }), ['events', 'my-site']);
  assert.equal(listed.stdout, [
    '2026-11-22 10:00:00  version.queued          system  publish',
    '2026-11-22 10:00:00  version.ready           system  build finished',
    '',
  ].join('\n'));
  const stream = () => sseResponse([`data: ${JSON.stringify(queued)}\n\n`, `: ping\n\ndata: ${JSON.stringify(ready)}\n\n`]);
  const followed = await runCliWith(stream, ['events', 'my-site', '--follow', '--json']);
  assert.equal(followed.code, 0, followed.stderr);
  assert.equal(followed.requests[0]?.url.search, '?follow=true');
  assert.deepEqual(followed.stdout.trim().split('\n').map((l) => JSON.parse(l)), [queued, ready]);
});
