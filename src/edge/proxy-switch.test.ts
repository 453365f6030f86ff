import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEdge } from '../../test/support/edge/edge-fixtures.js';
import { get } from '../../test/support/edge/test-helpers.js';
import { dynamicRoute, startNamedUpstream, startProxyEdge, startUpstream } from '../../test/support/edge/upstream-fixtures.js';
import { waitFor } from '../util/wait-for.js';

test('switching a route from instance A to B: new requests go to B, one in flight on A finishes', async (t) => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const a = await startUpstream(t, (req, res) => {
    if (req.url === '/slow') void gate.then(() => res.end('slow from a'));
    else res.end('a');
  });
  const b = await startNamedUpstream(t, 'b');
  // Unused pools are swept within milliseconds here, so a sweep that ignored the request in
  // flight would close A's pool under it.
  const { fake, edge, port } = await startProxyEdge(t, [dynamicRoute('app', [[a.address]])], { upstreamPoolIdleMs: 20 });
  assert.equal((await get(port, '/', { host: 'app.localhost' })).body.toString(), 'a');
  const slow = get(port, '/slow', { host: 'app.localhost' });
  await waitFor(() => a.seen.some((r) => r.url === '/slow'), { description: 'the slow request to reach A' });

  await edge.routes.waitForRevision(fake.upsert(dynamicRoute('app', [[a.address], [b.address]])));
  for (let i = 0; i < 3; i++) assert.equal((await get(port, '/', { host: 'app.localhost' })).body.toString(), 'b');
  // Several sweep periods pass with A named only by the v1 preview, then by nothing at all.
  // A window, not a wait: what is proved is that no sweep closes A's pool, and a sweep that
  // does nothing leaves no trace; 100 ms is ten sweeps at this idle setting (one per 10 ms).
  await edge.routes.waitForRevision(fake.upsert(dynamicRoute('app', [[b.address]])));
  await new Promise((resolve) => setTimeout(resolve, 100));
  release();
  const res = await slow;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'slow from a');
  assert.equal(a.seen.filter((r) => r.url === '/').length, 1, 'A got nothing after the switch');
});

test('a restarted edge proxies dynamic routes from routes.json with the server down', async (t) => {
  const up = await startNamedUpstream(t, 'instance');
  const first = await startProxyEdge(t, [dynamicRoute('app', [[up.address]], { sticky: { cookie: 'sid' } })]);
  assert.equal((await get(first.port, '/', { host: 'app.localhost' })).body.toString(), 'instance');
  await first.edge.close();
  const deadUrl = first.fake.url;
  await first.fake.close();

  const offline = await startEdge(t, { serverUrl: deadUrl, token: first.fake.token, stateDir: first.stateDir });
  assert.equal(offline.edge.routes.table.active('app.localhost')?.proxy?.sticky?.name, 'sid', 'the sticky setting survives');
  const res = await get(offline.port, '/', { host: 'app.localhost' });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'instance');
  assert.equal((await get(offline.port, '/', { host: 'v1--app.localhost' })).body.toString(), 'instance');
});
