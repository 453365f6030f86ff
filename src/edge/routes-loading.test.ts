import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteMessage } from '../core/routes.js';
import { defer, startEdge, tempDir, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { get } from '../../test/support/edge/test-helpers.js';
import {
  decodeFrame, dynamicRoute, encodeFrame, rawClient, serveWebSocketEcho, startNamedUpstream, type RawClient,
} from '../../test/support/edge/upstream-fixtures.js';
import { silentLogger } from './logger.js';
import { createProxyHandler } from './proxy-handler.js';
import { createRequestHandler } from './request-handler.js';
import { createRouteEntry, RouteTable } from './route-table.js';
import { createUpgradeHandler } from './upgrade-handler.js';
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

/** A WebSocket handshake for `host`. */
const handshake = (host: string) =>
  `GET /socket HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** The response head the client got, once it has arrived. */
async function headOf(client: RawClient): Promise<string> {
  return waitFor(() => {
    const text = client.received().toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    return end === -1 ? null : text.slice(0, end + 2);
  }, { description: 'a response head' });
}

test('a websocket upgrade for a host the edge lacks while loading gets 503 with Retry-After, and 404 only once loaded', async (t) => {
  const app = await startNamedUpstream(t, 'app');
  serveWebSocketEcho(t, app);
  const held = await startHeldControlPlane(t, 'test-internal-token');
  const { edge, port } = await startEdge(t, { serverUrl: held.url, token: 'test-internal-token', stateDir: await tempDir(t), routesLoadWaitMs: 100 });
  await waitFor(() => held.streams === 1, { description: 'the edge following the held route stream' });

  const loading = await rawClient(t, port, handshake('live.localhost'));
  const head = await headOf(loading);
  assert.match(head, /^HTTP\/1\.1 503 /, 'a host the edge does not know yet may be live: not 404 while loading');
  assert.match(head, /\r\nRetry-After: 1\r\n/i);
  assert.match(head, /\r\nConnection: close\r\n/i);
  await loading.closed;

  held.release({ type: 'snapshot', revision: 3, routes: [dynamicRoute('live', [[app.address]])] });
  await edge.routes.waitForRevision(3);
  const known = await rawClient(t, port, handshake('live.localhost'));
  assert.match(await headOf(known), /^HTTP\/1\.1 101 /);
  known.socket.destroy();
  // The table is the server's now: a miss is a real miss.
  const unknown = await rawClient(t, port, handshake('nope.localhost'));
  assert.match(await headOf(unknown), /^HTTP\/1\.1 404 /);
  await unknown.closed;
});

/** An upgrade handler whose table is not loaded until `open` is called, on a real port. */
async function startLoadingUpgrades(t: Parameters<typeof defer>[0], options: { maxRoutesWaiting?: number } = {}) {
  const table = new RouteTable('localhost');
  const pools = new UpstreamPools({ inUse: () => new Set(), logger: silentLogger });
  defer(t, () => pools.close());
  const gate = { waits: 0, open: (_loaded: boolean): void => undefined };
  const routesLoaded: RoutesLoaded = {
    loaded: false,
    wait: () => {
      gate.waits++;
      return new Promise((resolve) => (gate.open = resolve));
    },
  };
  const upgrades = createUpgradeHandler({ table, pools, logger: silentLogger, forwardedProto: 'http', routesLoaded, loadWaitMs: 60_000, ...options });
  const server = createServer((_req, res) => res.writeHead(500).end());
  server.on('upgrade', upgrades.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => new Promise<void>((resolve) => {
    upgrades.closeAll();
    server.close(() => resolve());
  }));
  return { table, upgrades, gate, port: (server.address() as AddressInfo).port };
}

test('a websocket upgrade for a host the edge lacks is held while loading and switches once the table arrives', async (t) => {
  const app = await startNamedUpstream(t, 'app');
  serveWebSocketEcho(t, app);
  const { table, gate, port } = await startLoadingUpgrades(t);
  const client = await rawClient(t, port, handshake('live.localhost'));
  await waitFor(() => gate.waits === 1, { description: 'the handshake waiting for the table' });
  // Sent before the 101 (read while waiting, so that a client leaving is noticed): not lost.
  client.socket.write(encodeFrame('early', true));
  table.publish(1, [createRouteEntry(dynamicRoute('live', [[app.address]]), null)]);
  gate.open(true);
  const head = await headOf(client);
  assert.match(head, /^HTTP\/1\.1 101 /);
  assert.equal(app.seen.length, 1);
  const frame = await waitFor(() => decodeFrame(client.received().subarray(head.length + 2)), { description: 'the echo of the early frame' });
  assert.equal(frame.text, 'echo: early');
});

test('closing the edge cuts a websocket upgrade waiting for the routes', async (t) => {
  const { upgrades, gate, port } = await startLoadingUpgrades(t);
  const client = await rawClient(t, port, handshake('live.localhost'));
  await waitFor(() => gate.waits === 1, { description: 'the handshake waiting for the table' });
  upgrades.closeAll();
  await client.closed;
  assert.equal(client.received().length, 0, 'cut, not answered');
});

test('websocket upgrades waiting for the routes are capped, and one whose client leaves frees its place', async (t) => {
  const { upgrades, gate, port } = await startLoadingUpgrades(t, { maxRoutesWaiting: 1 });
  const first = await rawClient(t, port, handshake('live.localhost'));
  await waitFor(() => gate.waits === 1, { description: 'the first handshake waiting for the table' });
  const second = await rawClient(t, port, handshake('live.localhost'));
  const head = await headOf(second);
  assert.match(head, /^HTTP\/1\.1 503 /, 'past the cap: come back later, at once');
  assert.match(head, /\r\nRetry-After: 1\r\n/i);
  await second.closed;
  assert.equal(gate.waits, 1, 'the refused one never waited');
  assert.equal(upgrades.routesWaiting(), 1);
  first.socket.destroy();
  await waitFor(() => upgrades.routesWaiting() === 0, { description: 'the handshake whose client left giving up its place' });
  const third = await rawClient(t, port, handshake('live.localhost'));
  await waitFor(() => gate.waits === 2, { description: 'a new handshake waiting in the freed place' });
  assert.equal(third.received().length, 0, 'waiting, not answered');
});
