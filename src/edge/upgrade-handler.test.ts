import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { defer } from '../../test/support/edge/edge-fixtures.js';
import { get } from '../../test/support/edge/test-helpers.js';
import {
  dynamicRoute, rawClient, serveWebSocketEcho, startNamedUpstream, startProxyEdge, startUpstream, type RawClient, type TestUpstream,
} from '../../test/support/edge/upstream-fixtures.js';
import { waitFor } from '../util/wait-for.js';

/** Status lines of every response in `text` (the bodies here never look like one). */
function statusLines(text: string): string[] {
  return [...text.matchAll(/HTTP\/1\.[01] \d{3}[^\r]*(?=\r\n)/g)].map((m) => m[0]);
}

/** Waits until the edge closed the connection, or a second response arrived on it. */
async function closedOrSecondAnswer(client: RawClient): Promise<void> {
  let closed = false;
  void client.closed.then(() => (closed = true));
  await waitFor(() => closed || statusLines(client.received().toString('latin1')).length > 1, {
    description: 'the connection to close or answer again',
  });
}

/** What an upstream must never see: anything the client claims about itself or the route. */
function assertNoClientClaims(seen: IncomingMessage[]): void {
  for (const req of seen) {
    const raw = req.rawHeaders.join('\n');
    assert.doesNotMatch(raw, /forged\.example|6\.6\.6\.6|evil\.example/, `forwarded as sent by the client: ${req.url}`);
  }
}

const FORGED_NEXT = 'GET /admin HTTP/1.1\r\nHost: forged.example\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n';

for (const upgrade of ['websocket', 'foo']) {
  test(`Upgrade: ${upgrade} answered without 101 stays HTTP: the next request is never piped to the app`, async (t) => {
    const up = await startUpstream(t, (req, res) => {
      const body = `app saw ${req.url}`;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length, 'x-app': '1' }).end(body);
    });
    const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
    const first = `GET /first HTTP/1.1\r\nHost: app.localhost\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n\r\n`;

    // The next request written in the same packet as the upgrade, then after the answer.
    const pipelined = await rawClient(t, port, first + FORGED_NEXT);
    await closedOrSecondAnswer(pipelined);
    const later = await rawClient(t, port, first);
    await waitFor(() => later.received().includes('app saw /first'), { description: 'the answer to the upgrade request' });
    later.socket.write(FORGED_NEXT);
    await closedOrSecondAnswer(later);

    for (const client of [pipelined, later]) {
      const text = client.received().toString('latin1');
      assert.deepEqual(statusLines(text), ['HTTP/1.1 200 OK'], 'one answer: the app\'s own');
      assert.match(text, /\r\nx-app: 1\r\n/i);
      assert.ok(text.endsWith('\r\n\r\napp saw /first'), 'the whole body, framed');
      assert.match(text, /\r\nConnection: close\r\n/i);
    }
    // Another connection's request arrives after anything the first two could have sent.
    assert.equal((await get(port, '/marker', { host: 'app.localhost' })).status, 200);
    assert.deepEqual(up.seen.map((r) => r.url), ['/first', '/first', '/marker'], 'the forged request never reached the app');
    assertNoClientClaims(up.seen);
  });
}

test('an upgrade answered with a body is passed on framed, chunked or not', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    if (req.url === '/chunked') {
      res.write('part one, ');
      res.end('part two');
    } else {
      res.writeHead(426, { 'content-length': '7' }).end('upgrade');
    }
  });
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const head = (path: string) => `GET ${path} HTTP/1.1\r\nHost: app.localhost\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\n`;
  const chunked = await rawClient(t, port, head('/chunked'));
  await chunked.closed;
  const text = chunked.received().toString('latin1');
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(text, /\r\nTransfer-Encoding: chunked\r\n/i);
  assert.ok(text.endsWith('\r\n\r\n'), 'ends with the last chunk');
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  assert.equal(body.replace(/(?:^|\r\n)[0-9a-f]+\r\n/g, ''), 'part one, part two\r\n');
  const sized = await rawClient(t, port, head('/sized'));
  await sized.closed;
  assert.match(sized.received().toString('latin1'), /^HTTP\/1\.1 426 Upgrade Required\r\n[^]*content-length: 7\r\n[^]*\r\n\r\nupgrade$/i);
});

test('a WebSocket handshake reaches the app with the edge\'s X-Forwarded-*, not the client\'s', async (t) => {
  const up = await startNamedUpstream(t, 'http');
  serveWebSocketEcho(t, up);
  const { port } = await startProxyEdge(t, [dynamicRoute('chat', [[up.address]])]);
  const client = await rawClient(
    t, port,
    'GET /ws HTTP/1.1\r\nHost: chat.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\n\r\n',
  );
  await waitFor(() => client.received().includes('\r\n\r\n'), { description: 'the handshake answer' });
  assert.match(client.received().toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  const seen = up.seen.at(-1) as IncomingMessage;
  assert.equal(seen.headers.host, 'chat.localhost');
  assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen.headers['x-forwarded-host'], 'chat.localhost');
  assert.equal(seen.headers['x-forwarded-proto'], 'http');
  assert.equal(seen.headers.forwarded, undefined);
  assertNoClientClaims(up.seen);
});

test('client bytes sent before the 101 reach the app only after it, and only when it switched', async (t) => {
  // An upstream that reads the raw handshake itself, so it sees exactly what the edge sends.
  const received: Buffer[] = [];
  const server = createServer();
  const sockets = new Set<Duplex>();
  server.on('upgrade', (_req, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    received.push(head);
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => {});
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\nhello from app');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => {
    sockets.forEach((s) => s.destroy());
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[address]])]);
  const client = await rawClient(t, port, 'GET / HTTP/1.1\r\nHost: app.localhost\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\nearly bytes');
  await waitFor(() => client.received().includes('hello from app'), { description: 'the tunnel to open' });
  assert.match(client.received().toString('latin1'), /^HTTP\/1\.1 101 Switching Protocols\r\n[^]*\r\n\r\nhello from app$/);
  await waitFor(() => Buffer.concat(received).toString() === 'early bytes', { description: 'the early bytes to arrive' });
  client.socket.write(' then more');
  await waitFor(() => Buffer.concat(received).toString() === 'early bytes then more', { description: 'tunnelled bytes' });
});

/** An upstream counting requests, for the Host checks. */
async function countingUpstream(t: Parameters<typeof startUpstream>[0]): Promise<TestUpstream> {
  return startUpstream(t, (_req, res) => res.end('app'));
}

test('two Host headers or a bad port: 400 for requests and upgrades, nothing reaches the app', async (t) => {
  const up = await countingUpstream(t);
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const hosts = [
    'Host: app.localhost\r\nHost: evil.example',
    'Host: evil.example\r\nHost: app.localhost',
    'Host: app.localhost:abc',
    'Host: app.localhost:99999',
    'Host: app.localhost:80:80',
    'Host: app.localhost/evil',
    'Host: app.local host',
  ];
  for (const host of hosts) {
    for (const connection of ['Connection: keep-alive', 'Upgrade: websocket\r\nConnection: Upgrade']) {
      const client = await rawClient(t, port, `GET / HTTP/1.1\r\n${host}\r\n${connection}\r\n\r\n`);
      await client.closed;
      assert.deepEqual(statusLines(client.received().toString('latin1')), ['HTTP/1.1 400 Bad Request'], `${host} ${connection}`);
    }
  }
  assert.equal(up.seen.length, 0);
  // Controls: the same app answers a well-formed Host, with or without a port.
  assert.equal((await get(port, '/', { host: 'app.localhost:8080' })).body.toString(), 'app');
  assert.equal((await get(port, '/', { host: 'App.Localhost.' })).body.toString(), 'app');
});

test('an upgrade pipelined behind a request waits for its answer, then switches', async (t) => {
  const up = await startUpstream(t, (req, res) => setTimeout(() => res.end(`answer ${req.url}`), 50));
  serveWebSocketEcho(t, up);
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const key = randomBytes(16).toString('base64');
  const client = await rawClient(
    t, port,
    'GET /slow HTTP/1.1\r\nHost: app.localhost\r\n\r\n' +
    `GET /ws HTTP/1.1\r\nHost: app.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await waitFor(() => statusLines(client.received().toString('latin1')).length === 2, { description: 'two answers' });
  const text = client.received().toString('latin1');
  assert.deepEqual(statusLines(text), ['HTTP/1.1 200 OK', 'HTTP/1.1 101 Switching Protocols']);
  assert.match(text, /\r\n\r\nanswer \/slowHTTP\/1\.1 101 /, 'the answer is whole, and before the switch');
  // And a refused one (no route) is refused after it, not instead of it.
  const refused = await rawClient(t, port, 'GET /slow HTTP/1.1\r\nHost: app.localhost\r\n\r\nGET /ws HTTP/1.1\r\nHost: nope.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  await refused.closed;
  assert.deepEqual(statusLines(refused.received().toString('latin1')), ['HTTP/1.1 200 OK', 'HTTP/1.1 404 Not Found']);
});
