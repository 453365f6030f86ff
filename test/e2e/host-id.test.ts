// SLIPWAY_HOST_ID end to end: `slipway up` with a host id places a dynamic app's instance on that
// host, its agent (started with the same id) runs it, and the app sees the id.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../src/util/wait-for.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform({ env: { SLIPWAY_HOST_ID: 'rack-7' } });
  await platform.client.createDeployment({ slug: 'hostapp' });
});
after(async () => platform?.stop());

const SERVER_JS = `
require('node:http').createServer((req, res) => res.end(process.env.SLIPWAY_HOST_ID ?? 'none')).listen(Number(process.env.PORT));
`;

test('an instance is placed on SLIPWAY_HOST_ID and the agent with that id runs it', async () => {
  const fast = { health_grace_period_ms: 1500, health_interval_ms: 200, health_unhealthy_threshold: 2, drain_timeout_ms: 1000 };
  // Without waiting: an instance no agent runs would hold a waiting publish until the rollout timeout.
  await platform.client.publish('hostapp', { files: { 'server.js': SERVER_JS } }, { runCommand: 'node server.js', port: 3000, settings: fast });
  const res = await waitFor(async () => {
    const answer = await platform.edge('hostapp.localhost', '/');
    return answer.status === 200 ? answer : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200, description: 'hostapp answering through the edge' });
  assert.equal(res.text, 'rack-7', 'the app sees the host it runs on');
  const instances = await platform.client.listInstances('hostapp');
  assert.deepEqual(instances.filter((i) => i.state === 'healthy').map((i) => i.host_id), ['rack-7']);
});
