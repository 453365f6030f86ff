import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { pagesFor } from './branded-pages.js';
import { BAD_GATEWAY, BAD_REQUEST, NOT_FOUND, ROUTES_LOADING, UNAVAILABLE } from './canned-responses.js';
import type { EdgeLogger } from './logger.js';
import { pinnedUpstream, usesAffinity, type AffinityConfig } from './edge-affinity.js';
import { isUpstreamDown, pickUpstream, UPSTREAM_DOWN_MS } from './pick-upstream.js';
import { afterPendingAnswers, type HttpSocket } from './pending-answers.js';
import { requestHost } from './request-host.js';
import { ROUTES_LOAD_WAIT_MS } from './request-handler.js';
import { MALFORMED_HOST, type RouteTable } from './route-table.js';
import type { RoutesLoaded } from './routes-loaded.js';
import { refuse, UpgradeExchange } from './upgrade-exchange.js';
import { hostVersion, type HostVersion } from './upgrade-wake.js';
import type { UpstreamPools } from './upstream-pool.js';
import type { WakeClient } from './wake-client.js';
import { DEFAULT_MAX_WAKE_WAITING, WakeWaiters } from './wake-waiters.js';

/** What {@link createUpgradeHandler} needs. */
export interface UpgradeHandlerConfig {
  table: RouteTable;
  /** Only for the per-upstream in-flight counts: tunnels do not use the HTTP pools. */
  pools: UpstreamPools;
  logger: EdgeLogger;
  forwardedProto: 'http' | 'https';
  /** Time allowed for the upstream's answer to the handshake; default 60 s (then 504). */
  timeoutMs?: number;
  /**
   * An open tunnel with no byte either way for this long is closed; default 10 min. It reclaims
   * connections whose peer vanished without a FIN; live websockets ping well within it.
   */
  idleTimeoutMs?: number;
  /** The edge's own session affinity (as for plain requests); absent: none. */
  affinity?: AffinityConfig;
  /**
   * Wakes a dynamic version with no instance when a handshake asks for it, and hears which
   * versions serve (a handshake counts as a request); absent: such a handshake gets 503 at once.
   */
  wake?: WakeClient;
  /**
   * How long a handshake to a sleeping version waits for its first instance before it is
   * answered 503 with `Retry-After`; default {@link DEFAULT_WAKE_WAIT_MS}.
   */
  wakeWaitMs?: number;
  /**
   * Most handshakes waiting for woken versions at once (all versions together); beyond it a
   * handshake is answered 503 with `Retry-After` at once. Default {@link DEFAULT_MAX_WAKE_WAITING}.
   */
  maxWakeWaiting?: number;
  /**
   * Whether the table is the server's yet; absent: always. Until it is, a handshake for a host
   * the table lacks waits up to {@link loadWaitMs} for it, then gets 503 with `Retry-After`,
   * never the 404 (as a plain request does, request-handler.ts).
   */
  routesLoaded?: RoutesLoaded;
  /** How long such a handshake waits for the table; default {@link ROUTES_LOAD_WAIT_MS}. */
  loadWaitMs?: number;
  /**
   * Most handshakes waiting for the routes at once; beyond it a handshake gets the 503 with
   * `Retry-After` at once. Default {@link DEFAULT_MAX_ROUTES_WAITING}.
   */
  maxRoutesWaiting?: number;
  /**
   * How long an instance whose connect failed gets no handshakes (nor requests: the mark is on
   * the route's target); default 1 s (`pick-upstream.ts`).
   */
  upstreamDownMs?: number;
}

/**
 * A handshake waits this long for a woken version: a cold start takes seconds (a Next.js
 * server about 2 s, and its first health check), and it is well inside the 60 s an upstream has
 * to answer a handshake.
 */
export const DEFAULT_WAKE_WAIT_MS = 20_000;

/**
 * Each handshake waiting for the routes holds a client connection and a timer; a restarted edge
 * facing a burst must not hold them without bound (as for wakes, {@link DEFAULT_MAX_WAKE_WAITING}).
 */
export const DEFAULT_MAX_ROUTES_WAITING = 256;

/**
 * Bytes a handshake waiting for the routes reads ahead (kept, and sent on after the head): a
 * paused socket never sees its client leave. A WebSocket client sends nothing before its 101;
 * past this the socket is paused again, as before.
 */
const MAX_EARLY_BYTES = 16 * 1024;

/** The HTTP server's `upgrade` listener, and a way to cut every open tunnel. */
export interface UpgradeHandler {
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * The HTTP server's `connect` listener: the edge is not a forward proxy, so `CONNECT` gets
   * 400, after the answers to any requests before it (node:http would cut those off).
   */
  refuseConnect(req: IncomingMessage, socket: Duplex): void;
  /**
   * Destroys every tunnel and refuses new upgrades (503): tunnels never end by themselves, and
   * server.close() waits for them.
   */
  closeAll(): void;
  /** Handshakes waiting for a woken version now. */
  wakeWaiting(): number;
  /** Handshakes waiting for the routes to load now. */
  routesWaiting(): number;
}


/**
 * WebSockets (and any other `Upgrade:`) for dynamic releases. The handshake is forwarded as an
 * HTTP request with the same header rewriting as any proxied request (plus the upgrade pair),
 * and only an upstream `101 Switching Protocols` turns the connection into a byte tunnel; the
 * client's bytes after its request head wait until then. Any other answer is passed on as a
 * complete response that closes the connection, so nothing the client sends after a refused
 * upgrade reaches an app unchecked. Either side of a tunnel ending or failing destroys both.
 * Static and unknown hosts get the neutral 404, but a host the table lacks while the routes
 * load waits for them, then gets 503 with `Retry-After` (routes-loaded.ts); an upgrade request
 * with a body (which would have to be forwarded before the answer, and which no WebSocket
 * handshake has) gets 400. A handshake to a dynamic version with no instance wakes it and waits
 * for it, with the other handshakes to that version and up to a cap ({@link WakeWaiters}). An
 * instance whose connect fails is marked down and the next live one is tried, else 503.
 */
export function createUpgradeHandler(config: UpgradeHandlerConfig): UpgradeHandler {
  const exchanges = new Set<UpgradeExchange>();
  /** Handshakes waiting for a woken version or for the routes, with what cuts each short. */
  const waiting = new Map<Duplex, AbortController>();
  let closed = false;
  const settings = {
    ...config, timeoutMs: config.timeoutMs ?? 60_000, idleTimeoutMs: config.idleTimeoutMs ?? 600_000, downMs: config.upstreamDownMs ?? UPSTREAM_DOWN_MS, exchanges,
  };
  const forward = ({ req, socket, head }: Handshake, version: HostVersion) => {
    const target = version.proxy;
    const tenant = target.tenant;
    const pages = pagesFor(tenant);
    // Suspended while the handshake waited for a wake.
    if (tenant?.suspended === true) return refuse(socket, pages.suspended);
    // A WebSocket upgrade of an engine.io session must reach the instance that holds it.
    const affinity = settings.affinity !== undefined && usesAffinity(target) ? settings.affinity : null;
    const pinned = affinity === null ? -1 : pinnedUpstream(target, req.headers.cookie, affinity);
    const index = pinned !== -1 && !isUpstreamDown(target, pinned) ? pinned : pickUpstream(target, req);
    if (index === -1) return refuse(socket, pages.noUpstream);
    config.wake?.used(version.release.version_id);
    new UpgradeExchange(settings, { req, client: socket, head, target }).send(index);
  };
  const wakeWaiters = config.wake === undefined ? null : new WakeWaiters({
    table: config.table, wake: config.wake, waitMs: config.wakeWaitMs ?? DEFAULT_WAKE_WAIT_MS, maxWaiting: config.maxWakeWaiting ?? DEFAULT_MAX_WAKE_WAITING,
  });
  const wakeThenForward = (shake: Handshake, o: { host: string; version: HostVersion; waiters: WakeWaiters }) => {
    const { socket } = shake;
    const abort = new AbortController();
    waiting.set(socket, abort);
    const onClose = () => abort.abort();
    socket.once('close', onClose);
    o.waiters.join(o.host, o.version, abort.signal)
      .then((outcome) => {
        if ('aborted' in outcome || abort.signal.aborted) return void socket.destroy();
        if ('refusal' in outcome) return refuse(socket, outcome.refusal);
        forward(shake, outcome.version);
      })
      .catch((err: unknown) => {
        config.logger.error({ err, host: o.host }, 'waking a version for a websocket failed');
        refuse(socket, BAD_GATEWAY);
      })
      .finally(() => {
        waiting.delete(socket);
        socket.removeListener('close', onClose);
      });
  };
  let routesWaiting = 0;
  const maxRoutesWaiting = config.maxRoutesWaiting ?? DEFAULT_MAX_ROUTES_WAITING;
  /** A host the table lacks while it is not the server's yet: wait for it, then answer for real. */
  const waitForRoutes = (shake: Handshake, loading: RoutesLoaded) => {
    const { socket } = shake;
    if (routesWaiting >= maxRoutesWaiting) return refuse(socket, ROUTES_LOADING);
    routesWaiting++;
    const abort = new AbortController();
    waiting.set(socket, abort);
    let left = false;
    const early: Buffer[] = [shake.head];
    let earlyBytes = shake.head.length;
    const onData = (chunk: Buffer) => {
      early.push(chunk);
      earlyBytes += chunk.length;
      if (earlyBytes > MAX_EARLY_BYTES) socket.pause();
    };
    // Once, whichever comes first: the wait ending, or the client leaving (which frees its place
    // under the cap at once; the gate's own timer still runs out by itself).
    const leave = () => {
      if (left) return;
      left = true;
      routesWaiting--;
      // Before `start`: a wake it begins registers the socket here again.
      waiting.delete(socket);
      socket.pause();
      socket.removeListener('data', onData);
      socket.removeListener('end', onGone);
      socket.removeListener('close', onGone);
    };
    // The edge's sockets are half-open capable: a client's FIN alone closes nothing.
    const onGone = () => {
      abort.abort();
      leave();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('close', onGone);
    socket.resume();
    loading.wait(config.loadWaitMs ?? ROUTES_LOAD_WAIT_MS)
      .then((loaded) => {
        leave();
        if (abort.signal.aborted || !socket.writable) return void socket.destroy();
        // Once loaded, `start` answers for real (the app, or the 404); it never waits twice.
        if (loaded) start(shake.req, socket, early.length === 1 ? shake.head : Buffer.concat(early));
        else refuse(socket, ROUTES_LOADING);
      })
      .catch((err: unknown) => {
        leave();
        config.logger.error({ err }, 'a websocket waiting for the routes failed');
        refuse(socket, BAD_GATEWAY);
      });
  };
  const start = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (closed) return refuse(socket, UNAVAILABLE);
    const host = requestHost(req);
    if (host === MALFORMED_HOST) return refuse(socket, BAD_REQUEST);
    const version = host === null ? null : hostVersion(config.table, host);
    if (host === null) return refuse(socket, NOT_FOUND);
    const tenant = (config.table.active(host) ?? config.table.preview(host)?.entry)?.route.tenant;
    // Nothing of a suspended tenant's instances is touched, nor woken (issue 11).
    if (tenant?.suspended === true) return refuse(socket, pagesFor(tenant).suspended);
    if (version === null) {
      const loading = config.routesLoaded;
      const known = config.table.active(host) !== undefined || config.table.preview(host) !== null;
      if (known) return refuse(socket, pagesFor(tenant).notFound);
      if (loading === undefined || loading.loaded) return refuse(socket, NOT_FOUND);
      return waitForRoutes({ req, socket, head }, loading);
    }
    if (req.url === undefined || req.url.charCodeAt(0) !== 0x2f) return refuse(socket, BAD_REQUEST);
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined) return refuse(socket, BAD_REQUEST);
    // A sleeping version (an old one, or a service scaled to zero) boots for a handshake as it
    // does for a page load.
    if (wakeWaiters !== null && version.proxy.upstreams.length === 0) return wakeThenForward({ req, socket, head }, { host, version, waiters: wakeWaiters });
    forward({ req, socket, head }, version);
  };
  return {
    handle(req, client, head) {
      const socket = client as HttpSocket;
      // A client reset must never surface as an uncaught 'error'.
      socket.on('error', () => socket.destroy());
      // Read nothing more from the client until the upstream has switched protocols.
      socket.pause();
      if (socket._httpMessage == null) return start(req, socket, head);
      // Pipelined behind requests still being answered: their answers go first, in order.
      afterPendingAnswers(socket, true, () => {
        if (socket.writable) start(req, socket, head);
        else socket.destroy();
      });
    },
    refuseConnect(_req, client) {
      const socket = client as HttpSocket;
      socket.on('error', () => socket.destroy());
      socket.pause();
      afterPendingAnswers(socket, true, () => {
        if (socket.writable) refuse(socket, BAD_REQUEST);
        else socket.destroy();
      });
    },
    closeAll() {
      closed = true;
      for (const exchange of exchanges) exchange.destroy();
      exchanges.clear();
      for (const [socket, abort] of waiting) {
        abort.abort();
        socket.destroy();
      }
      waiting.clear();
    },
    wakeWaiting: () => wakeWaiters?.waiting ?? 0,
    routesWaiting: () => routesWaiting,
  };
}

/** An upgrade request as node:http hands it over. */
interface Handshake {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
}
