import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { defer, startEdge, tempDir, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import {
  closedAddress, deadAddress, decodeFrame, dynamicRoute, encodeFrame, rawClient, serveWebSocketEcho, startNamedUpstream, startProxyEdge,
  websocketAccept,
} from '../../test/support/edge/upstream-fixtures.js';
import { waitFor } from '../util/wait-for.js';

const handshake = (host: string, key: string) =>
  `GET /socket?room=1 HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n`;

/** The status line of what the client got, once the head has arrived. */
async function statusOf(received: () => Buffer): Promise<string> {
  const head = await waitFor(() => {
    const text = received().toString('latin1');
    return text.includes('\r\n\r\n') ? text : null;
  }, { description: 'a response head' });
  return head.slice(0, head.indexOf('\r\n'));
}

test('a WebSocket is tunnelled to an instance: handshake, frames both ways, close', async (t) => {
  const up = await startNamedUpstream(t, 'http');
  const tunnels = serveWebSocketEcho(t, up);
  const { port } = await startProxyEdge(t, [dynamicRoute('chat', [[up.address]])]);
  const key = randomBytes(16).toString('base64');
  const client = await rawClient(t, port, handshake('chat.localhost', key));
  assert.equal(await statusOf(client.received), 'HTTP/1.1 101 Switching Protocols');
  assert.match(client.received().toString('latin1'), new RegExp(`Sec-WebSocket-Accept: ${websocketAccept(key).replace(/[+/]/g, '\\$&')}\r\n`, 'i'));
  const seen = up.seen.at(-1);
  assert.equal(seen?.url, '/socket?room=1');
  assert.equal(seen?.headers['x-forwarded-for'], '127.0.0.1', "the client's own chain is not trusted");
  assert.equal(seen?.headers['x-forwarded-host'], 'chat.localhost');
  assert.equal(seen?.headers.upgrade, 'websocket');

  const headLength = client.received().indexOf('\r\n\r\n') + 4;
  for (const text of ['hello', 'again']) {
    const before = client.received().length;
    client.socket.write(encodeFrame(text, true));
    const frame = await waitFor(() => decodeFrame(client.received().subarray(Math.max(before, headLength))), { description: `the echo of ${text}` });
    assert.equal(frame.text, `echo: ${text}`);
  }
  // The instance going away closes the client's side too.
  assert.equal(tunnels.size, 1);
  for (const socket of tunnels) socket.destroy();
  await client.closed;
});

test('upgrades for static, unknown, instance-less or unreachable hosts are refused', async (t) => {
  const fake = await withFake(t);
  const v1 = versionRelease(1);
  fake.blobs.set(v1.sha256, v1.tar);
  fake.upsert(testRoute('site', [v1.sha256]));
  fake.upsert(dynamicRoute('none', [[]]));
  fake.upsert(dynamicRoute('dead', [[await closedAddress()]]));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t) });
  await edge.routes.waitForRevision(fake.revision);
  const cases: Array<[string, string]> = [
    ['site.localhost', 'HTTP/1.1 404 Not Found'],
    ['nope.localhost', 'HTTP/1.1 404 Not Found'],
    ['none.localhost', 'HTTP/1.1 503 Service Unavailable'],
    // A refused connect means the instance is gone: 503 and come back, as for a plain request.
    ['dead.localhost', 'HTTP/1.1 503 Service Unavailable'],
  ];
  for (const [host, status] of cases) {
    const client = await rawClient(t, port, handshake(host, randomBytes(16).toString('base64')));
    assert.equal(await statusOf(client.received), status, host);
    if (status.includes(' 503 ')) assert.match(client.received().toString('latin1'), /\r\nRetry-After: 1\r\n/i, host);
    await client.closed;
  }
});

test('a handshake skips every instance whose address is dead and switches on the live one', async (t) => {
  const up = await startNamedUpstream(t, 'http');
  serveWebSocketEcho(t, up);
  // Dead for the whole test: a freed port could be taken by a test running alongside, within
  // the minute the marks last.
  const [deadA, deadB] = [await deadAddress(), await deadAddress()];
  // The dead ones first: round-robin starts at the first instance.
  const { port } = await startProxyEdge(t, [dynamicRoute('chat', [[deadA, deadB, up.address]])], { upstreamDownMs: 60_000 });
  for (let i = 0; i < 3; i++) {
    const client = await rawClient(t, port, handshake('chat.localhost', randomBytes(16).toString('base64')));
    assert.equal(await statusOf(client.received), 'HTTP/1.1 101 Switching Protocols', `handshake ${i}`);
    client.socket.destroy();
  }
  assert.equal(up.seen.length, 3, 'every handshake reached the live instance');
});


test('a handshake whose instances all fail more slowly than a mark lasts gets 503 once each was tried, not a loop', { timeout: 30_000 }, async (t) => {
  // A mark of 0 ms has run out before the next pick: what a 3 s EHOSTUNREACH does to a 1 s mark.
  const { port } = await startProxyEdge(t, [dynamicRoute('chat', [[await deadAddress(), await deadAddress()]])], { upstreamDownMs: 0 });
  const client = await rawClient(t, port, handshake('chat.localhost', randomBytes(16).toString('base64')));
  assert.equal(await statusOf(client.received), 'HTTP/1.1 503 Service Unavailable');
  assert.match(client.received().toString('latin1'), /\r\nRetry-After: 1\r\n/i);
  await client.closed;
});

test('closing the edge cuts open tunnels instead of waiting for them', async (t) => {
  const up = await startNamedUpstream(t, 'http');
  serveWebSocketEcho(t, up);
  const { edge, port } = await startProxyEdge(t, [dynamicRoute('chat', [[up.address]])]);
  const client = await rawClient(t, port, handshake('chat.localhost', randomBytes(16).toString('base64')));
  assert.equal(await statusOf(client.received), 'HTTP/1.1 101 Switching Protocols');
  const started = Date.now();
  await edge.close();
  assert.ok(Date.now() - started < 2_000, 'close() is not held open by a WebSocket');
  await client.closed;
});

test('a tunnel silent both ways past the idle timeout is closed; traffic keeps it open', async (t) => {
  const up = await startNamedUpstream(t, 'http');
  const tunnels = serveWebSocketEcho(t, up);
  const { port } = await startProxyEdge(t, [dynamicRoute('chat', [[up.address]])], { tunnelIdleTimeoutMs: 1_000 });
  const client = await rawClient(t, port, handshake('chat.localhost', randomBytes(16).toString('base64')));
  assert.equal(await statusOf(client.received), 'HTTP/1.1 101 Switching Protocols');
  let closed = false;
  void client.closed.then(() => (closed = true));
  // A message every 150 ms for 1.2 s: busy past the 1 s idle timeout, never idle for it. The
  // pauses are the traffic pattern under test, not a wait for an event; the timeout leaves
  // 850 ms for a late timer on a loaded machine (400 ms left too little and flaked).
  let lastSent = 0;
  for (let i = 0; i < 8; i++) {
    client.socket.write(encodeFrame(`tick ${i}`, true));
    lastSent = Date.now();
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.equal(closed, false, 'a busy tunnel stays open past the idle timeout');
  await client.closed;
  assert.ok(Date.now() - lastSent >= 980, 'closed for being idle, not at once');
  assert.equal(tunnels.size, 1, 'the echo served one tunnel');
});

test('a handshake refused by one instance is retried on the next; one never answered is a 504', async (t) => {
  const up = await startNamedUpstream(t, 'http');
  serveWebSocketEcho(t, up);
  const silent = await startNamedUpstream(t, 'silent');
  // Takes the handshake and never answers it.
  silent.server.on('upgrade', (_req: unknown, socket: Duplex) => defer(t, () => void socket.destroy()));
  const { port } = await startProxyEdge(t, [
    dynamicRoute('half', [[await closedAddress(), up.address]]),
    dynamicRoute('mute', [[silent.address]]),
  ], { upstreamTimeoutMs: 300 });
  for (let i = 0; i < 2; i++) {
    const client = await rawClient(t, port, handshake('half.localhost', randomBytes(16).toString('base64')));
    assert.equal(await statusOf(client.received), 'HTTP/1.1 101 Switching Protocols', `attempt ${i}`);
    client.socket.destroy();
  }
  const mute = await rawClient(t, port, handshake('mute.localhost', randomBytes(16).toString('base64')));
  assert.equal(await statusOf(mute.received), 'HTTP/1.1 504 Gateway Timeout');
  await mute.closed;
});
