import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext, TLSSocket } from 'node:tls';
import { BAD_REQUEST, sendCanned } from './canned-responses.js';
import { onClientError } from './client-error.js';
import { createContinueHandler } from './expect-continue.js';
import type { EdgeLogger } from './logger.js';
import type { SniTable } from './tls-sni-table.js';
import { UnknownHostGate } from './tls-unknown-hosts.js';
import type { UpgradeHandler } from './upgrade-handler.js';

/**
 * Called for an SNI name the edge holds no certificate for (at most once per host per
 * `unknownHostEveryMs`, for at most `maxUnknownHosts` hosts at once). A promise holds that
 * handshake, and the others for the same name meanwhile, until it settles (at most
 * `unknownHostWaitMs`): a certificate put into the table by then is used at once. A hook that
 * returns nothing declines the host: that counts against neither bound.
 */
export type UnknownHostHook = (host: string) => Promise<unknown> | void;

/** Options for {@link createTlsListener}. */
export interface TlsListenerConfig {
  port: number;
  host?: string;
  table: SniTable;
  logger: EdgeLogger;
  /** The edge's request listener, for HTTP/1.1 and HTTP/2 requests alike. */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** WebSocket upgrades (HTTP/1.1 over TLS) and CONNECT. */
  upgrades: UpgradeHandler;
  onUnknownHost?: UnknownHostHook;
  /**
   * Whether the edge serves `host` at all (a cheap, synchronous look-up). A name it does not is
   * never passed to `onUnknownHost` and takes no place in the unknown-host bound: otherwise a
   * flood of made-up names would fill that bound and keep real hosts from their certificates.
   * Default: every name may be passed on.
   */
  wants?: (host: string) => boolean;
  /** Default 60 s. */
  unknownHostEveryMs?: number;
  /** Default 1024. */
  maxUnknownHosts?: number;
  /** Default 3 s. */
  unknownHostWaitMs?: number;
}

/** The HTTPS side of a running edge. */
export interface TlsListener {
  start(): Promise<{ port: number }>;
  /** Stops accepting, lets in-flight requests finish within `graceMs`, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

/**
 * The common name of the certificate presented for a name the edge has none for (or a
 * handshake without SNI): `invalid` is reserved (RFC 6761) and names nobody, neither a tenant
 * nor the platform. A client sees an untrusted certificate and no request is answered with
 * another host's certificate.
 */
export const PLACEHOLDER_NAME = 'invalid';

/** How long an idle HTTP/1.1 keep-alive connection over TLS stays open (node:http's default). */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A connection with no traffic at all this long is closed (HTTP/2 sessions included). */
const IDLE_TIMEOUT_MS = 120_000;
/**
 * A client has this long to finish its TLS handshake (node's default is 120 s): one that opens
 * TCP and says nothing holds a socket and a file descriptor until then.
 */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The edge's HTTPS listener: node:http2's secure server with `allowHTTP1`, so ALPN picks `h2`
 * or `http/1.1` and both reach the same request listener (HTTP/1.1 requests as node:http's own
 * objects, HTTP/2 ones through the compat API). The certificate is chosen per handshake by
 * {@link SniTable.find}; a name without one gets the placeholder. WebSockets work over
 * HTTP/1.1 (the `upgrade` event); HTTP/2 has no Upgrade (RFC 8441 is not offered).
 */
export function createTlsListener(config: TlsListenerConfig): TlsListener {
  const gate = new UnknownHostGate({ everyMs: config.unknownHostEveryMs ?? 60_000, maxHosts: config.maxUnknownHosts ?? 1024 });
  const waitMs = config.unknownHostWaitMs ?? 3_000;
  /** Hooks still running, by host: bounded by the gate (only admitted hosts get here). */
  const pending = new Map<string, Promise<void>>();
  const sockets = new Set<TLSSocket>();
  /** Every TCP connection, handshake finished or not: the close cuts them all after the grace. */
  const connections = new Set<Socket>();
  const sessions = new Set<Http2Session>();
  let server: Http2SecureServer | null = null;

  const sni = (servername: string, done: (err: Error | null, context?: SecureContext) => void): void => {
    const found = config.table.find(servername);
    if (found !== undefined) return done(null, found);
    const hook = config.onUnknownHost;
    if (hook === undefined) return done(null);
    const host = servername.toLowerCase();
    if (config.wants !== undefined && !config.wants(host)) return done(null);
    let waiting = pending.get(host);
    if (waiting === undefined && gate.admit(host)) waiting = runHook(hook, host);
    if (waiting === undefined) return done(null);
    // The default context (the placeholder) when the hook brought nothing in time.
    waiting.then(() => done(null, config.table.find(host)), () => done(null));
  };

  const runHook = (hook: UnknownHostHook, host: string): Promise<void> | undefined => {
    let result: Promise<unknown> | void;
    try {
      result = hook(host);
    } catch (err) {
      config.logger.warn({ err, host }, 'unknown-host hook failed');
      return undefined;
    }
    if (result === undefined) {
      // Declined at once (not a host it serves, yet): it takes no slot, and no window.
      gate.forget(host);
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const bounded = Promise.race([
      Promise.resolve(result).then(() => undefined, (err: unknown) => config.logger.warn({ err, host }, 'unknown-host hook failed')),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]).finally(() => {
      clearTimeout(timer);
      pending.delete(host);
    });
    pending.set(host, bounded);
    return bounded;
  };

  const handler = config.handler as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void;
  const onConnect = (req: IncomingMessage | Http2ServerRequest, second: Duplex | Http2ServerResponse) => {
    // CONNECT over HTTP/2 is a stream with a response object, not a socket: the edge is no proxy.
    if (req.httpVersionMajor === 2) return sendCanned(second as unknown as ServerResponse, false, BAD_REQUEST);
    config.upgrades.refuseConnect(req as IncomingMessage, second as Duplex);
  };

  return {
    async start() {
      // Loaded only by an edge that serves HTTPS: the X.509 library is several MB of heap.
      const { selfSignedPlaceholder } = await import('../util/x509-issue.js');
      const placeholder = await selfSignedPlaceholder(PLACEHOLDER_NAME, 3650);
      const created = createSecureServer({
        allowHTTP1: true, key: placeholder.keyPem, cert: placeholder.certPem, SNICallback: sni,
        // No TLS 1.0/1.1: every client of the last decade speaks 1.2.
        minVersion: 'TLSv1.2',
        // node:http sets this on its own sockets; without it Nagle holds each small TLS record
        // back for the client's delayed ACK (~40 ms a response on a kept-alive connection).
        noDelay: true,
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      }, handler);
      server = created;
      // Read by node:http for HTTP/1.1 connections (allowHTTP1); the http2 server sets none.
      Object.assign(created, { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS });
      created.setTimeout(IDLE_TIMEOUT_MS);
      created.on('checkContinue', createContinueHandler(config.handler) as unknown as (req: Http2ServerRequest, res: Http2ServerResponse) => void);
      created.on('upgrade', config.upgrades.handle);
      created.on('connect', onConnect);
      created.on('clientError', onClientError);
      // A client that gives up mid-handshake (or speaks no TLS) is routine, never an error.
      created.on('tlsClientError', (_err: Error, socket: TLSSocket) => socket.destroy());
      created.on('connection', (socket: Socket) => {
        connections.add(socket);
        socket.once('close', () => connections.delete(socket));
      });
      created.on('secureConnection', (socket: TLSSocket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      created.on('session', (session: Http2Session) => {
        sessions.add(session);
        session.once('close', () => sessions.delete(session));
      });
      await new Promise<void>((resolve, reject) => {
        created.once('error', reject);
        created.listen(config.port, config.host, () => {
          created.off('error', reject);
          resolve();
        });
      });
      const { port } = created.address() as AddressInfo;
      config.logger.info({ port }, 'edge listening for HTTPS');
      return { port };
    },
    async close(graceMs) {
      const current = server;
      if (current === null) return;
      const closed = new Promise<void>((resolve) => current.close(() => resolve()));
      // HTTP/2: GOAWAY, streams in flight finish. HTTP/1.1: idle keep-alive sockets go now and
      // as each falls idle; whatever is left when the grace is over is cut.
      for (const session of sessions) session.close();
      const closeIdle = () => {
        for (const socket of sockets) {
          if (socket.alpnProtocol !== 'h2' && (socket as { _httpMessage?: unknown })._httpMessage == null) socket.destroy();
        }
      };
      closeIdle();
      const idle = setInterval(closeIdle, 50);
      const cut = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        // Connections still in (or never starting) their handshake: server.close() waits for them.
        for (const socket of connections) socket.destroy();
      }, graceMs);
      await closed;
      clearInterval(idle);
      clearTimeout(cut);
    },
  };
}
