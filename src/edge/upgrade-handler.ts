import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { BAD_GATEWAY, BAD_REQUEST, GATEWAY_TIMEOUT, NOT_FOUND, NO_UPSTREAM, UNAVAILABLE, cannedBytes, type CannedResponse } from './canned-responses.js';
import { forwardRequestHeaders } from './forward-headers.js';
import type { EdgeLogger } from './logger.js';
import { pickUpstream, type ProxyTarget } from './pick-upstream.js';
import { normalizeHost, type RouteTable } from './route-table.js';
import type { UpstreamPools } from './upstream-pool.js';

/** What {@link createUpgradeHandler} needs. */
export interface UpgradeHandlerConfig {
  table: RouteTable;
  /** Only for the per-upstream in-flight counts: tunnels do not use the HTTP pools. */
  pools: UpstreamPools;
  logger: EdgeLogger;
  forwardedProto: 'http' | 'https';
  /** Time allowed for the upstream's first byte (its handshake answer); default 60 s. */
  timeoutMs?: number;
  /**
   * An open tunnel with no byte either way for this long is closed; default 10 min. It reclaims
   * connections whose peer vanished without a FIN; live websockets ping well within it.
   */
  idleTimeoutMs?: number;
}

/** The HTTP server's `upgrade` listener, and a way to cut every open tunnel. */
export interface UpgradeHandler {
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Destroys every tunnel and refuses new upgrades (503): tunnels never end by themselves, and
   * server.close() waits for them.
   */
  closeAll(): void;
}

const REFUSALS = new Map<CannedResponse, Buffer>();
function refuse(socket: Duplex, response: CannedResponse): void {
  let bytes = REFUSALS.get(response);
  if (bytes === undefined) REFUSALS.set(response, (bytes = cannedBytes(response)));
  if (socket.writable) socket.end(bytes, () => socket.destroy());
  else socket.destroy();
}

/**
 * WebSockets (and any other `Upgrade:`) for dynamic releases: a raw TCP connection to a chosen
 * instance, the request head written as received (hop-by-hop headers dropped except the
 * upgrade itself, `X-Forwarded-*` added), then bytes piped both ways untouched; the upstream
 * answers the handshake itself. Either side ending or failing destroys both. Static and unknown
 * hosts get the neutral 404: they have nothing to upgrade to.
 */
export function createUpgradeHandler(config: UpgradeHandlerConfig): UpgradeHandler {
  const tunnels = new Set<Duplex>();
  let closed = false;
  const timeoutMs = config.timeoutMs ?? 60_000;
  const idleTimeoutMs = config.idleTimeoutMs ?? 600_000;

  const open = (req: IncomingMessage, client: Duplex, o: { head: Buffer; target: ProxyTarget; index: number; retried: boolean }) => {
    const address = o.target.upstreams[o.index] as string;
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const slot = config.pools.acquire(address);
    const upstream: Socket = connect({ host, port: Number(address.slice(colon + 1)), noDelay: true });
    tunnels.add(client).add(upstream);
    let state: 'connecting' | 'open' | 'done' = 'connecting';
    let answered = false;
    /** Ends this attempt once; `then` decides the client's fate (default: destroyed too). */
    const end = (then?: () => void) => {
      if (state === 'done') return;
      state = 'done';
      config.pools.release(slot);
      tunnels.delete(upstream);
      tunnels.delete(client);
      client.removeListener('close', onClientGone);
      upstream.destroy();
      if (then === undefined) client.destroy();
      else then();
    };
    const onClientGone = () => end();
    client.once('close', onClientGone);
    // Every byte of the tunnel passes through the upstream socket, so its inactivity timer
    // serves for both: first the handshake deadline, then the idle limit.
    upstream.setTimeout(timeoutMs, () => {
      if (answered) {
        config.logger.info({ upstream: address, idle_ms: idleTimeoutMs }, 'closing an idle tunnel');
        return end();
      }
      config.logger.warn({ upstream: address }, 'upstream did not answer a websocket handshake in time');
      end(() => refuse(client, GATEWAY_TIMEOUT));
    });
    upstream.once('data', () => {
      answered = true;
      upstream.setTimeout(idleTimeoutMs);
    });
    upstream.on('error', (err: Error & { code?: string }) => {
      if (state !== 'connecting') return end();
      end(() => {
        // Nothing reached the instance: the handshake is a GET, so one other may be tried.
        if (!o.retried && client.writable) {
          open(req, client, { ...o, index: (o.index + 1) % o.target.upstreams.length, retried: true });
          return;
        }
        config.logger.warn({ err, upstream: address, code: err.code }, 'websocket upstream unreachable');
        refuse(client, BAD_GATEWAY);
      });
    });
    // A clean close from the instance (say, after a WebSocket close frame): let what it sent
    // reach the client before its socket goes too. Errors were handled above.
    upstream.on('close', () => end(() => client.end(() => client.destroy())));
    upstream.once('connect', () => {
      state = 'open';
      const headers = forwardRequestHeaders(req, { proto: config.forwardedProto, upgrade: true });
      let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      upstream.write(`${text}\r\n`);
      if (o.head.length > 0) upstream.write(o.head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
  };

  return {
    handle(req, socket, head) {
      // A client reset must never surface as an uncaught 'error'.
      socket.on('error', () => socket.destroy());
      if (closed) return refuse(socket, UNAVAILABLE);
      const host = normalizeHost(req.headers.host);
      const target = host === null ? null : config.table.proxyTarget(host);
      if (target === null) return refuse(socket, NOT_FOUND);
      if (req.url === undefined || req.url.charCodeAt(0) !== 0x2f) return refuse(socket, BAD_REQUEST);
      const index = pickUpstream(target, req);
      if (index === -1) return refuse(socket, NO_UPSTREAM);
      open(req, socket, { head, target, index, retried: false });
    },
    closeAll() {
      closed = true;
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
  };
}
