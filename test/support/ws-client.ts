/**
 * A minimal WebSocket client for end-to-end tests, over a raw TCP connection so the test sees
 * exactly what crossed the edge: the handshake is written by hand and checked (status 101 and
 * `Sec-WebSocket-Accept`), and small text frames use the edge tests' codec (RFC 6455).
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { decodeFrame, encodeFrame, websocketAccept } from './edge/upstream-fixtures.js';
import { waitFor } from '../../src/util/wait-for.js';

/** An open WebSocket connection. */
export interface WsClient {
  /** The status line and headers of the handshake answer. */
  readonly handshake: { statusLine: string; headers: Record<string, string> };
  /** Sends one masked text message (under 126 bytes). */
  send(text: string): void;
  /** The next text message received, waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<string>;
  /** Sends a close frame and waits until the server has closed the connection. */
  close(timeoutMs?: number): Promise<void>;
  /** Destroys the socket at once (for cleanup after a failure). */
  destroy(): void;
  /** True once the connection is closed, by either side. */
  isClosed(): boolean;
}

const OPCODE_TEXT = 0x1;
const OPCODE_CLOSE = 0x8;

/**
 * Opens `ws://<host><path>` through `127.0.0.1:port` (the edge, with `host` as the Host
 * header). Rejects when the answer is not a valid `101 Switching Protocols`.
 */
export async function openWebSocket(
  port: number,
  host: string,
  options: { path?: string; timeoutMs?: number; /** `wss://`: TLS with `host` as SNI, trusting only `ca`. */ tls?: { ca: string } } = {},
): Promise<WsClient> {
  const { path = '/', timeoutMs = 10_000 } = options;
  const key = randomBytes(16).toString('base64');
  const socket: Socket = options.tls === undefined ? connect({ host: '127.0.0.1', port })
    : connectTls({ host: '127.0.0.1', port, servername: host, ca: options.tls.ca, ALPNProtocols: ['http/1.1'] });
  socket.on('error', () => undefined);
  let closed = false;
  socket.once('close', () => (closed = true));
  let data = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => (data = Buffer.concat([data, chunk])));
  try {
    await new Promise<void>((resolve, reject) => socket.once(options.tls === undefined ? 'connect' : 'secureConnect', resolve).once('error', reject));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const { end } = await waitFor(() => (data.includes('\r\n\r\n') ? { end: data.indexOf('\r\n\r\n') } : closed ? { end: -1 } : null),
      { timeoutMs, intervalMs: 5, description: 'the websocket handshake answer' });
    if (end < 0) throw new Error(`the connection closed during the handshake: ${JSON.stringify(data.toString())}`);
    const [statusLine = '', ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
    data = data.subarray(end + 4);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    if (!/^HTTP\/1\.1 101 /.test(statusLine)) throw new Error(`handshake answered "${statusLine}"`);
    if (headers['sec-websocket-accept'] !== websocketAccept(key)) {
      throw new Error(`wrong Sec-WebSocket-Accept ${headers['sec-websocket-accept']} for key ${key}`);
    }
    return {
      handshake: { statusLine, headers },
      send: (text) => void socket.write(encodeFrame(text, true)),
      async next(waitMs = 5000) {
        const message = await waitFor(() => {
          if (data.length < 2) return null;
          const opcode = (data[0] as number) & 0x0f;
          const frame = decodeFrame(data);
          if (frame === null) return null;
          data = data.subarray(frame.size);
          return { opcode, text: frame.text };
        }, { timeoutMs: waitMs, intervalMs: 5, description: 'a websocket message' });
        if (message.opcode !== OPCODE_TEXT) throw new Error(`expected a text frame, got opcode ${message.opcode}`);
        return message.text;
      },
      async close(waitMs = 5000) {
        // A masked close frame with status 1000 and no reason.
        const mask = randomBytes(4);
        const payload = Buffer.from([0x03, 0xe8]).map((b, i) => b ^ (mask[i % 4] as number));
        socket.write(Buffer.concat([Buffer.from([0x80 | OPCODE_CLOSE, 0x80 | 2]), mask, payload]));
        await waitFor(() => closed, { timeoutMs: waitMs, intervalMs: 5, description: 'the server to close the websocket' });
      },
      destroy: () => void socket.destroy(),
      isClosed: () => closed,
    };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
