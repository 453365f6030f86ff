import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonResponse, routes } from '../../test/support/sdk/fake-fetch.js';
import { fakeDeployment } from '../../test/support/sdk/fixtures.js';
import { calls, runCliWith } from '../../test/support/cli/cli-harness.js';

test('deployments delete needs --yes, and without it calls nothing', async () => {
  const run = await runCliWith(() => assert.fail('no request expected'), ['deployments', 'delete', 'my-site']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^error: deleting my-site takes it off the web .*--yes/);
  assert.equal(run.requests.length, 0);
});

test('deployments delete --yes deletes through the API and says what it deleted', async () => {
  const gone = fakeDeployment({ id: 'dep_gone', slug: 'my-site' });
  const run = await runCliWith(routes({ 'DELETE /deployments/my-site': () => jsonResponse(200, { data: gone }) }), ['deployments', 'delete', 'my-site', '--yes']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout, 'Deleted my-site (dep_gone)\n');
  assert.deepEqual(calls(run.requests), ['DELETE /deployments/my-site']);
});

test('deployments update turns SPA fallback off and on through PATCH, sending only what changes', async () => {
  for (const [flag, value] of [['--no-spa-fallback', false], ['--spa-fallback', true]] as const) {
    const run = await runCliWith(routes({
      'PATCH /deployments/my-site': (req) => jsonResponse(200, { data: fakeDeployment({ spa_fallback: (JSON.parse(req.body.toString()) as { spa_fallback: boolean }).spa_fallback }) }),
    }), ['deployments', 'update', 'my-site', flag]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(calls(run.requests), ['PATCH /deployments/my-site']);
    assert.deepEqual(JSON.parse(run.requests[0]!.body.toString()), { spa_fallback: value });
    assert.match(run.stdout, new RegExp(`SPA fallback: ${value ? 'on' : 'off'}\\n`));
  }
});

test('deployments update with nothing to change is a usage error', async () => {
  const run = await runCliWith(() => assert.fail('no request expected'), ['deployments', 'update', 'my-site']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /nothing to change/);
});
