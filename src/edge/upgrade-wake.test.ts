import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defer, type After } from '../../test/support/edge/edge-fixtures.js';
import { silentLogger } from './logger.js';
import { createRouteEntry, RouteTable, upstreamAddresses } from './route-table.js';
import { createUpgradeHandler, type UpgradeHandler } from './upgrade-handler.js';
import { UpstreamPools } from './upstream-pool.js';
import { decodeFrame, dynamicRoute, encodeFrame, rawClient, serveWebSocketEcho, startUpstream, type RawClient } from '../../test/support/edge/upstream-fixtures.js';
import type { WakeAnswer, WakeClient, WakeTarget } from './wake-client.js';
import { waitFor } from '../util/wait-for.js';

/**
 * A wake client that answers from `answers` (the last one repeats) and records what it was
 * asked; `onWake` plays the control plane booting the version.
 */
function fakeWake(answers: WakeAnswer[], onWake: () => void = () => undefined) {
  const asked: WakeTarget[] = [];
  const used: string[] = [];
  const client: WakeClient = {
    wake(target) {
      asked.push(target);
      onWake();
      return Promise.resolve(answers[Math.min(asked.length, answers.length) - 1]!);
    },
    used: (versionId) => void used.push(versionId),
    close: () => Promise.resolve(),
  };
  return { client, asked, used };
}

const STARTING: WakeAnswer = { state: 'starting', retry_after_s: 2 };

/** v1 of `app` asleep (no instance), v2 live on `live`; the handler behind a real server. */
async function edgeWith(t: After, o: { wake: WakeClient; wakeWaitMs?: number; maxWakeWaiting?: number; table: RouteTable; live: string }) {
  o.table.publish(1, [createRouteEntry(dynamicRoute('app', [[], [o.live]]), null)]);
  const pools = new UpstreamPools({ inUse: () => upstreamAddresses(o.table.current), logger: silentLogger });
  const handler: UpgradeHandler = createUpgradeHandler({
    table: o.table, pools, logger: silentLogger, forwardedProto: 'http', wake: o.wake, ...(o.wakeWaitMs === undefined ? {} : { wakeWaitMs: o.wakeWaitMs }),
    ...(o.maxWakeWaiting === undefined ? {} : { maxWakeWaiting: o.maxWakeWaiting }),
  });
  const server = createServer((_req, res) => res.end());
  server.on('upgrade', handler.handle);
  // Handshakes the handler has taken (it runs first, and starts a wake synchronously).
  let upgrades = 0;
  server.on('upgrade', () => void (upgrades += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, async () => {
    handler.closeAll();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pools.close();
  });
  return { port: (server.address() as AddressInfo).port, handler, upgrades: () => upgrades };
}

const handshake = (host: string) =>
  `GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** The answer's head (each line ending in CRLF), once it has come whole. */
async function answerHead(client: RawClient): Promise<string> {
  return waitFor(() => {
    const text = client.received().toString('latin1');
    const end = text.indexOf('\r\n\r\n');
    return end === -1 ? null : text.slice(0, end + 2);
  }, { timeoutMs: 15_000, description: 'the handshake answer' });
}

test('a websocket handshake to a sleeping version wakes it, waits for its instance, then tunnels', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const woken = await startUpstream(t, (_req, res) => res.end('v1'));
  serveWebSocketEcho(t, woken);
  // The control plane boots v1: a moment later the route names its instance.
  const wake = fakeWake([STARTING], () => {
    setImmediate(() => table.publish(2, [createRouteEntry(dynamicRoute('app', [[woken.address], [live.address]]), null)]));
  });
  const { port } = await edgeWith(t, { wake: wake.client, table, live: live.address });

  const client = await rawClient(t, port, handshake('v1--app.localhost'));
  assert.match(await answerHead(client), /^HTTP\/1\.1 101 /);
  assert.deepEqual(wake.asked, [{ deploymentId: 'dep_app', versionNumber: 1 }], 'v1 asked for once');
  assert.deepEqual(wake.used, ['ver_app_1'], 'the handshake counts as a request to v1, for its idle clock');
  client.socket.write(encodeFrame('hello', true));
  const echoed = await waitFor(() => {
    const data = client.received();
    const body = data.subarray(data.indexOf('\r\n\r\n') + 4);
    return decodeFrame(body)?.text ?? null;
  }, { description: 'the echo through the tunnel' });
  assert.equal(echoed, 'echo: hello');
  assert.equal(woken.seen.length, 1, 'the woken instance got the handshake');
  assert.equal(live.seen.length, 0, 'the live version was not used instead');
});

test('a version that does not come up in time: 503 with Retry-After, after asking for it', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const wake = fakeWake([STARTING]);
  const { port } = await edgeWith(t, { wake: wake.client, table, live: live.address, wakeWaitMs: 300 });
  const client = await rawClient(t, port, handshake('v1--app.localhost'));
  const head = await answerHead(client);
  assert.match(head, /^HTTP\/1\.1 503 /);
  assert.match(head, /\r\nRetry-After: 2\r\n/i, 'the wake\'s own Retry-After');
  assert.match(head, /\r\nConnection: close\r\n/i);
  await client.closed;
  assert.deepEqual(wake.asked[0], { deploymentId: 'dep_app', versionNumber: 1 });
  assert.equal(live.seen.length, 0);
});

test('a boot that fails while the handshake waits is answered 502 at once, not at the end of the wait', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const wake = fakeWake([{ state: 'starting', retry_after_s: 1 }, { state: 'failed', retry_after_s: 60 }]);
  const { port } = await edgeWith(t, { wake: wake.client, table, live: live.address, wakeWaitMs: 60_000 });
  const started = Date.now();
  const client = await rawClient(t, port, handshake('v1--app.localhost'));
  const head = await answerHead(client);
  assert.match(head, /^HTTP\/1\.1 502 /);
  assert.match(head, /\r\nRetry-After: 60\r\n/i);
  assert.ok(Date.now() - started < 15_000, 'answered on the next ask, far inside the 60 s wait');
  assert.equal(wake.asked.length, 2);
});

test('the edge closing cuts a handshake that waits for a wake', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const wake = fakeWake([STARTING]);
  const { port, handler } = await edgeWith(t, { wake: wake.client, table, live: live.address, wakeWaitMs: 60_000 });
  const client = await rawClient(t, port, handshake('v1--app.localhost'));
  await waitFor(() => wake.asked.length > 0, { description: 'the wake asked for' });
  handler.closeAll();
  await client.closed;
  assert.equal(client.received().length, 0, 'cut, not answered');
});

test('an unknown version and a static host still get the neutral 404, with no wake asked', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const wake = fakeWake([STARTING]);
  const { port } = await edgeWith(t, { wake: wake.client, table, live: live.address });
  for (const host of ['v9--app.localhost', 'other.localhost']) {
    const client = await rawClient(t, port, handshake(host));
    assert.match(await answerHead(client), /^HTTP\/1\.1 404 /);
  }
  assert.deepEqual(wake.asked, []);
});

test('concurrent handshakes to one sleeping version share one wait: one wake call, then all tunnel', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const woken = await startUpstream(t, (_req, res) => res.end('v1'));
  serveWebSocketEcho(t, woken);
  // retry_after_s 30: no retry timer fires within the test, so every wake call is a handshake's.
  const wake = fakeWake([{ state: 'starting', retry_after_s: 30 }]);
  const { port, upgrades } = await edgeWith(t, { wake: wake.client, table, live: live.address, wakeWaitMs: 60_000 });
  const clients: RawClient[] = [];
  for (let i = 0; i < 5; i++) clients.push(await rawClient(t, port, handshake('v1--app.localhost')));
  await waitFor(() => upgrades() === 5, { description: 'all five handshakes taken' });
  assert.equal(wake.asked.length, 1, 'one wake call for five handshakes');
  table.publish(2, [createRouteEntry(dynamicRoute('app', [[woken.address], [live.address]]), null)]);
  for (const client of clients) assert.match(await answerHead(client), /^HTTP\/1\.1 101 /);
  assert.equal(woken.seen.length, 5, 'each handshake reached the woken instance');
});

test('past the cap on waiting handshakes, one more is answered 503 with Retry-After at once', async (t) => {
  const table = new RouteTable('localhost');
  const live = await startUpstream(t, (_req, res) => res.end('v2'));
  const woken = await startUpstream(t, (_req, res) => res.end('v1'));
  serveWebSocketEcho(t, woken);
  const wake = fakeWake([{ state: 'starting', retry_after_s: 30 }]);
  const { port, upgrades, handler } = await edgeWith(t, { wake: wake.client, table, live: live.address, wakeWaitMs: 60_000, maxWakeWaiting: 2 });
  const waiting = [await rawClient(t, port, handshake('v1--app.localhost')), await rawClient(t, port, handshake('v1--app.localhost'))];
  await waitFor(() => upgrades() === 2, { description: 'two handshakes waiting' });
  const refused = await rawClient(t, port, handshake('v1--app.localhost'));
  const head = await answerHead(refused);
  assert.match(head, /^HTTP\/1\.1 503 /);
  assert.match(head, /\r\nRetry-After: 2\r\n/i);
  await refused.closed;
  assert.equal(handler.wakeWaiting(), 2, 'the refused one never counted');
  // The two within the cap still get through once the version is up, and the count drops.
  table.publish(2, [createRouteEntry(dynamicRoute('app', [[woken.address], [live.address]]), null)]);
  for (const client of waiting) assert.match(await answerHead(client), /^HTTP\/1\.1 101 /);
  assert.equal(handler.wakeWaiting(), 0);
});
