/**
 * Test support for the edge's proxy (not used in production code): real upstream HTTP servers
 * on 127.0.0.1 port 0, dynamic routes pointing at them, and a minimal WebSocket codec (no
 * dependency: the handshake and single small frames by hand, per RFC 6455).
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Route, RouteRelease } from '../../../src/core/routes.js';
import { defer, startEdge, tempDir, withFake, type After } from './edge-fixtures.js';
import type { EdgeServer, EdgeServerConfig } from '../../../src/edge/edge-server.js';
import type { FakeControlPlane } from './fake-control-plane.js';
import { sha256Hex } from './test-helpers.js';

/** A running upstream instance. */
export interface TestUpstream {
  /** `127.0.0.1:<port>`, as routes name instances. */
  readonly address: string;
  readonly server: Server;
  /** Requests it has received. */
  readonly seen: IncomingMessage[];
}

/** Starts an HTTP server on a free port, closed (with every connection) after the test. */
export async function startUpstream(t: After, handler: RequestListener): Promise<TestUpstream> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  defer(t, () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, server, seen };
}

/** An upstream that answers every request with `name` as its body. */
export function startNamedUpstream(t: After, name: string): Promise<TestUpstream> {
  return startUpstream(t, (_req, res) => res.end(name));
}

/** A loopback address nothing listens on (a port just freed). */
export async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

let deadAddresses = 0;

/**
 * A loopback address nothing listens on, for tests where it must stay dead for the whole test:
 * port 9 (discard) on a 127/8 address of its own. {@link closedAddress}'s freed port is in the
 * ephemeral range, so a test file running alongside can be given it by a `listen(0)` meanwhile;
 * no bind to port 0 ever gets a port below 1024, and nothing here serves discard. Checked once
 * (a refused connect) so that a machine where something does listen there fails loudly.
 */
export async function deadAddress(): Promise<string> {
  deadAddresses += 1;
  const host = `127.0.9.${deadAddresses}`;
  const code = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host, port: 9 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (err: Error & { code?: string }) => resolve(err.code));
  });
  if (code !== 'ECONNREFUSED') throw new Error(`${host}:9 is not dead here (${code ?? 'it accepted a connection'})`);
  return `${host}:9`;
}

/** A dynamic release N of `slug` with these instances. */
export function dynamicRelease(slug: string, n: number, upstreams: string[]): RouteRelease {
  return { version_number: n, version_id: `ver_${slug}_${n}`, artifact_sha256: sha256Hex(Buffer.from(`${slug}/${n}`)), kind: 'dynamic', upstreams };
}

/** A route whose versions (v1, v2, …) are dynamic with these instances; the last one active. */
export function dynamicRoute(slug: string, versions: string[][], options: { sticky?: Route['sticky'] } = {}): Route {
  const releases = versions.map((upstreams, i) => dynamicRelease(slug, i + 1, upstreams));
  return { deployment_id: `dep_${slug}`, slug, spa_fallback: false, sticky: options.sticky ?? null, active: releases.at(-1) ?? null, versions: releases };
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** `Sec-WebSocket-Accept` for a key. */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** One unfragmented frame with a payload under 126 bytes; masked as a client must. */
export function encodeFrame(text: string, mask: boolean): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new Error('test frames stay small');
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | payload.length]);
  if (!mask) return Buffer.concat([head, payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  return Buffer.concat([head, key, payload.map((b, i) => b ^ (key[i % 4] as number))]);
}

/** Decodes one frame produced by {@link encodeFrame}; null until it has all arrived. */
export function decodeFrame(data: Buffer): { text: string; size: number } | null {
  if (data.length < 2) return null;
  const masked = ((data[1] as number) & 0x80) !== 0;
  const length = (data[1] as number) & 0x7f;
  const start = 2 + (masked ? 4 : 0);
  if (data.length < start + length) return null;
  const payload = Buffer.from(data.subarray(start, start + length));
  if (masked) for (let i = 0; i < length; i++) payload[i] = (payload[i] as number) ^ (data[2 + (i % 4)] as number);
  return { text: payload.toString(), size: start + length };
}

/**
 * Makes `upstream` a WebSocket echo server that records handshakes in `seen`; returns its open
 * WebSocket connections (node:http forgets upgraded sockets, so closeAllConnections misses them).
 */
export function serveWebSocketEcho(t: After, upstream: TestUpstream): Set<Duplex> {
  const sockets = new Set<Duplex>();
  defer(t, () => sockets.forEach((s) => s.destroy()));
  upstream.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    upstream.seen.push(req);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const key = req.headers['sec-websocket-key'] as string;
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${websocketAccept(key)}\r\n\r\n`);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (let frame = decodeFrame(buffered); frame !== null; frame = decodeFrame(buffered)) {
        buffered = buffered.subarray(frame.size);
        socket.write(encodeFrame(`echo: ${frame.text}`, false));
      }
    });
    socket.on('error', () => socket.destroy());
  });
  return sockets;
}

/** A raw client connection to the edge, reading everything it receives. */
export interface RawClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
}

/** Opens a TCP connection to `127.0.0.1:port` and sends `head` (closed after the test). */
export async function rawClient(t: After, port: number, head: string): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port });
  defer(t, () => void socket.destroy());
  let data = Buffer.alloc(0);
  socket.on('data', (c: Buffer) => (data = Buffer.concat([data, c])));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(head);
  return { socket, received: () => data, closed };
}

/** A fake control plane serving `routes` and an edge that has applied them, for the test. */
export async function startProxyEdge(
  t: After,
  routes: Route[],
  config: Partial<EdgeServerConfig> = {},
): Promise<{ fake: FakeControlPlane; edge: EdgeServer; port: number; stateDir: string }> {
  const fake = await withFake(t);
  for (const route of routes) fake.upsert(route);
  const stateDir = config.stateDir ?? (await tempDir(t));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, ...config, stateDir });
  await edge.routes.waitForRevision(fake.revision);
  return { fake, edge, port, stateDir };
}
