import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteMessage } from '../core/routes.js';
import { defer, startEdge, tempDir, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { get } from '../../test/support/edge/test-helpers.js';
import { dynamicRoute, startNamedUpstream } from '../../test/support/edge/upstream-fixtures.js';
import { silentLogger } from './logger.js';
import { createProxyHandler } from './proxy-handler.js';
import { createRequestHandler } from './request-handler.js';
import { createRouteEntry, RouteTable } from './route-table.js';
import type { RoutesLoaded } from './routes-loaded.js';
import { UpstreamPools } from './upstream-pool.js';
import type { ReleaseCache } from './release-cache.js';
import { waitFor } from '../util/wait-for.js';

/**
 * A control plane that accepts the route stream but sends its snapshot only when told: a
 * server that is up but slow, or the moment between an edge's start and the first snapshot.
 */
async function startHeldControlPlane(t: Parameters<typeof defer>[0], token: string) {
  const held = new Set<ServerResponse>();
  let snapshot: RouteMessage | null = null;
  const server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) return void res.writeHead(401).end();
    if ((req.url ?? '').startsWith('/api/v1/internal/routes?watch=true')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      held.add(res);
      if (snapshot !== null) send(res, snapshot);
      return;
    }
    // Acknowledgements and usage reports: accepted, not needed here.
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
  });
  const send = (res: ServerResponse, message: RouteMessage) => res.write(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => new Promise<void>((resolve) => {
    for (const res of held) res.destroy();
    server.close(() => resolve());
  }));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get streams() {
      return held.size;
    },
    release(message: RouteMessage) {
      snapshot = message;
      for (const res of held) send(res, message);
    },
  };
}

test('a restarted edge whose routes are still loading answers 503 with Retry-After for a host it lacks, never 404', async (t) => {
  // A first edge saves the table it served: one static site.
  const fake = await withFake(t);
  const stateDir = await tempDir(t);
  const v1 = versionRelease(1);
  fake.blobs.set(v1.sha256, v1.tar);
  fake.upsert(testRoute('old', [v1.sha256]));
  const first = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir });
  await first.edge.routes.waitForRevision(fake.revision);
  await first.edge.close();

  // Restarted while the server's snapshot (which adds a live app) has not arrived yet.
  const app = await startNamedUpstream(t, 'app');
  const held = await startHeldControlPlane(t, fake.token);
  const { edge, port } = await startEdge(t, { serverUrl: held.url, token: fake.token, stateDir, routesLoadWaitMs: 100 });
  await waitFor(() => held.streams === 1, { description: 'the edge following the held route stream' });

  const loading = await get(port, '/', { host: 'live.localhost' });
  assert.equal(loading.status, 503, 'a host the saved table lacks may be live: not 404 while loading');
  assert.equal(loading.headers['retry-after'], '1');
  assert.equal(loading.headers['cache-control'], 'no-store');
  assert.equal((await get(port, '/', { host: 'v1--live.localhost' })).status, 503);
  // What the saved table has is served at once, without waiting for the server.
  assert.match((await get(port, '/', { host: 'old.localhost' })).body.toString(), /version 1/);

  held.release({ type: 'snapshot', revision: 7, routes: [testRoute('old', [v1.sha256]), dynamicRoute('live', [[app.address]])] });
  await edge.routes.waitForRevision(7);
  assert.equal((await get(port, '/', { host: 'live.localhost' })).body.toString(), 'app');
  // The table is the server's now: a miss is a real miss.
  assert.equal((await get(port, '/', { host: 'nope.localhost' })).status, 404);
});

test('a request for a host the edge lacks while loading is held and served once the table arrives', async (t) => {
  const app = await startNamedUpstream(t, 'app');
  const table = new RouteTable('localhost');
  const pools = new UpstreamPools({ inUse: () => new Set(), logger: silentLogger });
  defer(t, () => pools.close());
  // A dynamic route never touches the release cache.
  const cache = {} as ReleaseCache;
  let open: (loaded: boolean) => void = () => undefined;
  let waits = 0;
  const routesLoaded: RoutesLoaded = {
    loaded: false,
    wait: () => {
      waits++;
      return new Promise((resolve) => (open = resolve));
    },
  };
  const handler = createRequestHandler({
    table, cache, logger: silentLogger, routesLoaded, loadWaitMs: 60_000,
    proxy: createProxyHandler({ pools, logger: silentLogger, forwardedProto: 'http' }),
  });
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => new Promise<void>((resolve) => server.close(() => resolve())));

  const answer = get((server.address() as AddressInfo).port, '/', { host: 'live.localhost' });
  await waitFor(() => waits === 1, { description: 'the request waiting for the table' });
  table.publish(1, [createRouteEntry(dynamicRoute('live', [[app.address]]), null)]);
  open(true);
  const res = await answer;
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'app');
});
