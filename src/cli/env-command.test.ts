import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonResponse, routes } from '../../test/support/sdk/fake-fetch.js';
import { fakePublishResult, fakeVersion } from '../../test/support/sdk/fixtures.js';
import type { EnvVar } from '../sdk/index.js';
import { calls, runCliWith } from '../../test/support/cli/cli-harness.js';

const T = '2026-12-02T10:00:00.000Z';
const v = (name: string, value: string | null): EnvVar => ({ name, secret: value === null, value, updated_by: 'key_1', created_at: T, updated_at: T });

test('env set sends one all-or-nothing change; --secret marks every value, a bare NAME reads stdin', async () => {
  const run = await runCliWith(routes({ 'PATCH /deployments/my-api/env': () => jsonResponse(200, { data: [] }) }),
    ['env', 'set', 'my-api', '--secret', 'A=1=2', 'TOKEN'], { stdin: 'from-stdin\n' });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(calls(run.requests), ['PATCH /deployments/my-api/env']);
  assert.deepEqual(JSON.parse(run.requests[0]!.body.toString()), {
    set: { A: { value: '1=2', secret: true }, TOKEN: { value: 'from-stdin', secret: true } },
  });
  assert.match(run.stdout, /Set A, TOKEN on my-api\. Run `slipway redeploy my-api`/);
  const plain = await runCliWith(routes({ 'PATCH /deployments/my-api/env': () => jsonResponse(200, { data: [] }) }), ['env', 'set', 'my-api', 'B=2']);
  assert.deepEqual(JSON.parse(plain.requests[0]!.body.toString()), { set: { B: { value: '2' } } }, 'no --secret: the field is left out, so a secret stays one');
});

test('env set refuses two values from stdin, and a NAME without a value when there is no stdin', async () => {
  const two = await runCliWith(() => jsonResponse(200, { data: [] }), ['env', 'set', 'my-api', 'A', 'B'], { stdin: 'x' });
  assert.equal(two.code, 1);
  assert.match(two.stderr, /only one NAME/);
  assert.equal(two.requests.length, 0);
  const none = await runCliWith(() => jsonResponse(200, { data: [] }), ['env', 'set', 'my-api', 'A']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /use A=value/);
});

test('env lists values, never a secret, and unset sends names', async () => {
  const list = await runCliWith(routes({ 'GET /deployments/my-api/env': () => jsonResponse(200, { data: [v('LONG_NAME', 'x'), v('TOKEN', null)] }) }), ['env', 'my-api']);
  assert.equal(list.code, 0, list.stderr);
  const [first, second] = list.stdout.trimEnd().split('\n');
  assert.match(first!, /^LONG_NAME  x  \S/);
  assert.match(second!, /^TOKEN      \(secret\)  \S/, 'names aligned, the secret not shown');
  const unset = await runCliWith(routes({ 'PATCH /deployments/my-api/env': () => jsonResponse(200, { data: [] }) }), ['env', 'unset', 'my-api', 'A', 'B']);
  assert.deepEqual(JSON.parse(unset.requests[0]!.body.toString()), { unset: ['A', 'B'] });
});

test('redeploy --no-wait answers with the new version; --version picks the source', async () => {
  const run = await runCliWith(routes({ 'POST /deployments/my-api/redeploy': () => jsonResponse(202, { data: fakePublishResult(fakeVersion({ version_number: 4, state: 'queued' })) }) }),
    ['redeploy', 'my-api', '--version', '2', '--no-wait', '--idempotency-key', 'k1']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.requests[0]!.body.toString()), { version: 2 });
  assert.equal(run.requests[0]!.headers.get('idempotency-key'), 'k1');
  assert.match(run.stdout, /Redeploying my-api as v4/);
});
