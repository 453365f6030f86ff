// A deployment's environment variables and secrets, end to end: set through the API, frozen
// into each version at publish, injected into its build and its instances, masked in every
// log, never shown back; a change reaches the app through a redeploy, and a rollback brings
// back the environment the old version was published with.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { collectAll, isSlipwayApiError } from '../../src/sdk/index.js';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
const TOKEN = 'tok_s3cr3t_9f27c1';

before(async () => {
  platform = await startPlatform();
  await platform.client.createDeployment({ slug: 'envapp' });
});
after(async () => platform?.stop());

const SERVER_JS = `
const http = require('node:http');
console.log('booting with token ' + process.env.API_TOKEN);
http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({
    greeting: process.env.GREETING ?? null, token: process.env.API_TOKEN ?? null, nodeEnv: process.env.NODE_ENV,
    port: process.env.PORT, slug: process.env.SLIPWAY_SLUG, version: process.env.SLIPWAY_VERSION_NUMBER,
  }));
}).listen(Number(process.env.PORT));
`;

const FAST = { health_grace_period_ms: 1500, health_interval_ms: 200, health_unhealthy_threshold: 2, drain_timeout_ms: 1000 };

async function envSeen(): Promise<Record<string, string | null>> {
  const res = await platform.edge('envapp.localhost', '/');
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text) as Record<string, string | null>;
}

test('names Slipway sets, and malformed ones, are refused with invalid_env_var and change nothing', async () => {
  const refused: Array<Record<string, string>> = [{ PORT: '1' }, { SLIPWAY_SLUG: 'x' }, { 'BAD-NAME': 'x' }, { OK: 'fine', '1X': 'no' }];
  for (const set of refused) {
    await assert.rejects(platform.client.updateEnv('envapp', { set }), (e) => isSlipwayApiError(e) && e.code === 'invalid_env_var' && e.status === 400);
  }
  assert.deepEqual(await platform.client.listEnv('envapp'), []);
});

test('variables and secrets reach the build and the instances; secrets are never shown or logged', async () => {
  const listed = await platform.client.updateEnv('envapp', {
    set: { GREETING: 'hello', NODE_ENV: 'staging', API_TOKEN: { value: TOKEN, secret: true } },
  });
  assert.deepEqual(listed.map((v) => [v.name, v.secret, v.value]), [['API_TOKEN', true, null], ['GREETING', false, 'hello'], ['NODE_ENV', false, 'staging']]);
  const result = await platform.client.publish('envapp', { files: { 'server.js': SERVER_JS } }, {
    wait: true, runCommand: 'node server.js', port: 3000, buildCommand: 'echo "build sees $GREETING and $API_TOKEN"', settings: FAST,
  });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  assert.ok(result.promoted);
  assert.deepEqual(result.version.env, [{ name: 'API_TOKEN', secret: true }, { name: 'GREETING', secret: false }, { name: 'NODE_ENV', secret: false }]);

  assert.deepEqual(await envSeen(), { greeting: 'hello', token: TOKEN, nodeEnv: 'staging', port: '3000', slug: 'envapp', version: '1' });

  const buildLog = await platform.client.getBuildLog('envapp', 1);
  assert.match(buildLog, /build sees hello and \[redacted\]/);
  assert.ok(!buildLog.includes(TOKEN), 'the build log masks the secret');

  const lines = await waitFor(async () => {
    const got = await platform.client.getLogs('envapp');
    return got.some((l) => l.line.includes('booting with token')) ? got : undefined;
  });
  assert.ok(lines.some((l) => l.line === 'booting with token [redacted]'), JSON.stringify(lines.map((l) => l.line)));
  assert.ok(!JSON.stringify(lines).includes(TOKEN), 'instance logs mask the secret');

  const everything = JSON.stringify([
    await collectAll((cursor) => platform.client.listEvents('envapp', { cursor })),
    await platform.client.listEnv('envapp'),
    await platform.client.getVersion('envapp', 1),
    await platform.client.listInstances('envapp'),
  ]);
  assert.ok(!everything.includes(TOKEN), 'no API answer or event carries the secret');
  assert.match(everything, /"env.updated"/);

  const key = await stat(join(platform.home, 'secrets.key'));
  assert.equal(key.mode & 0o777, 0o600, 'the secrets key is private to Slipway');
});

test('a change reaches the app through a redeploy; a rollback brings back the old environment', async () => {
  await platform.client.updateEnv('envapp', { set: { GREETING: 'bonjour' }, unset: ['NODE_ENV'] });
  assert.equal((await envSeen()).greeting, 'hello', 'the running version keeps the environment it was published with');

  const first = await platform.client.redeploy('envapp', { idempotencyKey: 'redeploy-1' });
  assert.equal(first.version.version_number, 2);
  assert.equal(first.version.source_sha256, (await platform.client.getVersion('envapp', 1)).source_sha256, 'the same source, nothing uploaded');
  const again = await platform.client.redeploy('envapp', { idempotencyKey: 'redeploy-1' });
  assert.equal(again.version.id, first.version.id, 'a retried redeploy is the same one');
  const op = await platform.client.waitForOperation(first.operation!.id);
  assert.equal(op.state, 'succeeded', JSON.stringify(op.error));
  await waitFor(async () => (await envSeen()).version === '2');
  assert.deepEqual(await envSeen(), { greeting: 'bonjour', token: TOKEN, nodeEnv: 'production', port: '3000', slug: 'envapp', version: '2' });

  const rolled = await platform.client.rollback('envapp', { to: 1 });
  assert.ok(rolled.promoted);
  await waitFor(async () => (await envSeen()).version === '1');
  assert.equal((await envSeen()).greeting, 'hello');

  await assert.rejects(platform.client.redeploy('envapp', { version: 99 }), (e) => isSlipwayApiError(e) && e.code === 'version_not_found');
});

test('deleting a deployment removes its environment: a new one under the slug starts empty', async () => {
  await platform.client.deleteDeployment('envapp');
  await platform.client.createDeployment({ slug: 'envapp' });
  assert.deepEqual(await platform.client.listEnv('envapp'), []);
  await assert.rejects(platform.client.redeploy('envapp'), (e) => isSlipwayApiError(e) && e.code === 'version_not_ready');
});
