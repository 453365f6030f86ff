import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { onClientError } from './client-error.js';
import { createChallengeHandler } from './challenge-handler.js';
import { createContinueHandler } from './expect-continue.js';
import { createConsoleLogger, type EdgeLogger } from './logger.js';
import { createReleaseCache, type ReleaseCache } from './release-cache.js';
import { defaultCacheMaxBytes, startCacheBound } from './cache-bound.js';
import { fileCacheDir } from './file-cache.js';
import { createAffinityConfig, DEFAULT_AFFINITY_COOKIE } from './edge-affinity.js';
import { createProxyHandler } from './proxy-handler.js';
import { createRequestHandler } from './request-handler.js';
import { startRouteWatcher, type RouteWatcher } from './route-watcher.js';
import { createRouteJournal, type RouteJournal } from './route-journal.js';
import { readRouteState } from './route-state.js';
import { RouteSync } from './route-sync.js';
import { createRoutesLoadedGate } from './routes-loaded.js';
import { RouteTable, upstreamAddresses } from './route-table.js';
import { createRevisionAcker } from './revision-ack.js';
import { readSavedCertificates, startCertificateWatcher, type CertificateWatcher } from './tls-certificate-watcher.js';
import { createTlsListener, type TlsListener, type UnknownHostHook } from './tls-listener.js';
import { createOnDemandCertificates, servesHost } from './tls-on-demand.js';
import { SniTable } from './tls-sni-table.js';
import { createUpgradeHandler } from './upgrade-handler.js';
import { UpstreamPools } from './upstream-pool.js';
import { createWakeClient } from './wake-client.js';

/** Options for {@link createEdgeServer}. */
export interface EdgeServerConfig {
  /** Port to listen on; 0 picks a free one (see the port `start()` returns). */
  port: number;
  /**
   * Port for HTTPS (HTTP/1.1 and HTTP/2, certificates by SNI from the server's certificate
   * stream, saved in `tls/`); 0 picks a free one; absent: no HTTPS.
   */
  httpsPort?: number;
  /**
   * Called for an SNI name the edge holds no certificate for, at most once per host a minute
   * (tls-listener.ts). Default: a host the route table serves gets a certificate from the server
   * (`POST /internal/certificates/issue`, tls-on-demand.ts); null: never called.
   */
  onUnknownHost?: UnknownHostHook | null;
  /** Interface to bind; default all. */
  host?: string;
  /** App hosts are `<slug>.<baseDomain>` and `v<N>--<slug>.<baseDomain>`. */
  baseDomain: string;
  /** Base URL of `slipway server`, for the route stream and release downloads. */
  serverUrl: string;
  /** An internal API key. */
  token: string;
  /**
   * Holds the served routes (`routes-snapshot.ndjson` and `routes-journal.ndjson`; an old
   * `routes.json` is read once) and `releases/<sha256>.tar`; created when missing.
   */
  stateDir: string;
  logger?: EdgeLogger;
  /**
   * Most bytes of release files held in memory, active releases included (least recently
   * used releases then serve from disk); default 1/8 of the host's memory.
   */
  memoryBytes?: number;
  /** Files larger than this always stream from disk; default 256 KiB. */
  maxMemoryFileBytes?: number;
  /**
   * Most bytes of releases and release files kept on disk in `releases/` and `files/`
   * (SLIPWAY_EDGE_CACHE_MAX_BYTES): past it the least recently used ones nothing references are
   * removed (checked every minute). Default: the smaller of 2 GiB and a tenth of the file
   * system (cache-bound.ts); 0: no bound. Releases no route names go after a grace either way.
   */
  diskCacheMaxBytes?: number;
  /** How long a release no route names stays on disk; default 10 min (cache-bound.ts). */
  releaseGraceMs?: number;
  /** Route stream reconnect delays, default 200 ms → 5 s. */
  reconnectMs?: { min: number; max: number };
  /** Retry delays for releases that failed to load, default 500 ms → 30 s. */
  loadRetryMs?: { min: number; max: number };
  /** How long `close()` lets in-flight requests finish before cutting them; default 10 s. */
  closeGraceMs?: number;
  /**
   * `X-Forwarded-Proto` sent to dynamic releases' instances: the scheme clients use to reach
   * this edge (`https` behind a TLS terminator). Default `http`.
   */
  forwardedProto?: 'http' | 'https';
  /** Time an instance has to send response headers (or a WebSocket answer); default 60 s (504). */
  upstreamTimeoutMs?: number;
  /** A websocket (or other upgraded) tunnel silent both ways this long is closed; default 10 min. */
  tunnelIdleTimeoutMs?: number;
  /** Keep-alive pools of instances no route names any more close after this idle; default 60 s. */
  upstreamPoolIdleMs?: number;
  /** How often the versions that served requests are reported (their idle clock); default 2 s. */
  usageReportMs?: number;
  /**
   * How long a websocket handshake to a sleeping version waits for it to boot before it gets
   * 503 with `Retry-After`; default 20 s (`upgrade-handler.ts`).
   */
  wakeWaitMs?: number;
  /**
   * The name of the cookie that pins a client to one instance of a multi-instance app with no
   * sticky rule of its own (`edge-affinity.ts`); default `edge_affinity`.
   */
  affinityCookie?: string;
  /**
   * How long a request (or websocket handshake) for a host the edge does not know waits, until
   * the server's snapshot is served, before it gets 503 with `Retry-After` (never the 404
   * then); default 2 s.
   */
  routesLoadWaitMs?: number;
  /**
   * How long an instance whose connect failed (it died; its route has not changed yet) gets no
   * requests; default 1 s (`pick-upstream.ts`).
   */
  upstreamDownMs?: number;
}

/** The routing side of a running edge, for wiring and tests. */
export interface EdgeRoutes {
  readonly table: RouteTable;
  readonly cache: ReleaseCache;
  /** Revision of the last route change that is fully visible. */
  readonly revision: number;
  /** The certificates served over HTTPS, by host name. */
  readonly certificates: SniTable;
  /** Resolves once {@link revision} ≥ `revision`; rejects `unavailable` after `timeoutMs`. */
  waitForRevision(revision: number, timeoutMs?: number): Promise<void>;
  /** Resolves once the route snapshot and journal on disk hold the latest table. */
  flushState(): Promise<void>;
}

/** A `slipway edge` process as a library. */
export interface EdgeServer {
  /**
   * Serves the routes saved on disk from releases in the disk cache, then listens,
   * then follows the server's route stream; so it serves before, or entirely without, the
   * server.
   */
  start(): Promise<{ port: number; httpsPort?: number }>;
  /** Stops accepting, lets in-flight requests finish (within the grace), stops the watcher. */
  close(): Promise<void>;
  readonly routes: EdgeRoutes;
  /** The bound on `releases/` and `files/` (checked every minute; `trim()` runs a pass now). */
  readonly diskCache: { readonly maxBytes: number; trim(): Promise<void> };
}

/** How often the disk cache is measured against its bound. */
const DISK_BOUND_EVERY_MS = 60_000;

/**
 * Creates the edge: static sites from memory and dynamic releases proxied to their instances,
 * by host, with routes from the server's watch stream.
 */
export function createEdgeServer(config: EdgeServerConfig): EdgeServer {
  const logger = config.logger ?? createConsoleLogger();
  const table = new RouteTable(config.baseDomain);
  const cache = createReleaseCache({ ...config, logger });
  const maxBytes = config.diskCacheMaxBytes ?? defaultCacheMaxBytes(config.stateDir);
  const diskBound = startCacheBound({
    dir: fileCacheDir(config.stateDir), releasesDir: join(config.stateDir, 'releases'), maxBytes: maxBytes === 0 ? Infinity : maxBytes,
    releaseGraceMs: config.releaseGraceMs, refs: cache, everyMs: DISK_BOUND_EVERY_MS, logger,
  });
  // Identifies this edge's stream, so the server knows when this edge serves a change.
  const edgeId = randomUUID();
  const acks = createRevisionAcker({ serverUrl: config.serverUrl, token: config.token, edgeId });
  // Opened by the first server snapshot served whole; until then a miss is not a 404.
  const loadedGate = createRoutesLoadedGate();
  const onApplied = (revision: number) => {
    loadedGate.applied(revision);
    acks.ack(revision);
  };
  // Created by start(), once it knows where the saved journal ends.
  let journal: RouteJournal | null = null;
  const journalView: RouteJournal = {
    append: (change) => journal?.append(change),
    compact: () => journal?.compact(),
    flush: async () => journal?.flush(),
    close: async () => journal?.close(),
  };
  const sync = new RouteSync({ table, cache, journal: journalView, logger, retryMs: config.loadRetryMs, onApplied });
  const forwardedProto = config.forwardedProto ?? 'http';
  const pools = new UpstreamPools({
    inUse: () => upstreamAddresses(table.current),
    logger,
    headersTimeoutMs: config.upstreamTimeoutMs,
    idleCloseMs: config.upstreamPoolIdleMs,
  });
  const affinity = createAffinityConfig({ cookie: config.affinityCookie ?? DEFAULT_AFFINITY_COOKIE, secret: config.token, secure: forwardedProto === 'https' });
  const proxy = createProxyHandler({ pools, logger, forwardedProto, affinity, upstreamDownMs: config.upstreamDownMs });
  const wake = createWakeClient({ serverUrl: config.serverUrl, token: config.token, logger, usageReportMs: config.usageReportMs });
  const upgrades = createUpgradeHandler({
    table, pools, logger, forwardedProto, timeoutMs: config.upstreamTimeoutMs, idleTimeoutMs: config.tunnelIdleTimeoutMs, affinity,
    wake, wakeWaitMs: config.wakeWaitMs, routesLoaded: loadedGate, loadWaitMs: config.routesLoadWaitMs, upstreamDownMs: config.upstreamDownMs,
  });
  const challenges = createChallengeHandler({
    serverUrl: config.serverUrl, token: config.token, logger, serves: (host) => table.active(host) !== undefined || table.preview(host) !== null,
  });
  let httpsPort: number | undefined;
  const handler = createRequestHandler({
    table, cache, logger, proxy, wake, routesLoaded: loadedGate, loadWaitMs: config.routesLoadWaitMs, challenges, httpsPort: () => httpsPort,
  });
  // The request handler answers a missing Host itself, so that it can also keep requests
  // pipelined behind that 400 from running.
  const server = createServer({ keepAlive: true, requireHostHeader: false }, handler);
  server.on('checkContinue', createContinueHandler(handler));
  server.on('upgrade', upgrades.handle);
  server.on('connect', upgrades.refuseConnect);
  server.on('clientError', onClientError);
  let watcher: RouteWatcher | null = null;
  const certificates = new SniTable();
  const tls: TlsListener | null = config.httpsPort === undefined ? null : createTlsListener({
    port: config.httpsPort, host: config.host, table: certificates, logger, handler, upgrades,
    onUnknownHost: config.onUnknownHost === null ? undefined
      : config.onUnknownHost ?? createOnDemandCertificates({ serverUrl: config.serverUrl, token: config.token, routes: table, table: certificates, logger }),
    // The default hook asks only for hosts the route table serves: others never take its slots.
    wants: config.onUnknownHost === undefined ? (host) => servesHost(table, host) : undefined,
  });
  let certificateWatcher: CertificateWatcher | null = null;

  const routes: EdgeRoutes = {
    table,
    cache,
    get revision() {
      return sync.revision;
    },
    certificates,
    waitForRevision: (revision, timeoutMs) => sync.waitForRevision(revision, timeoutMs),
    flushState: () => journalView.flush(),
  };

  return {
    routes,
    diskCache: { maxBytes, trim: () => diskBound.check() },
    async start() {
      const saved = await readRouteState(config.stateDir, logger);
      journal = createRouteJournal({
        stateDir: config.stateDir,
        logger,
        // Every served route: route objects are never changed, so copying the list is enough.
        current: () => ({ revision: table.current.revision, routes: Array.from(table.current.byId.values(), (e) => e.route) }),
        // Nothing readable saved (or an unreadable snapshot): the first write is a whole snapshot.
        start: saved ?? { seq: 0, journalBytes: 0, needsCompaction: true },
      });
      if (saved !== null) await sync.restore(saved);
      // HTTPS serves the certificates it had before it hears from the server (or without it).
      if (tls !== null) certificates.replace((await readSavedCertificates(config.stateDir, logger))?.certificates ?? []);
      const https = tls === null ? undefined : (await tls.start()).port;
      httpsPort = https;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch(async (err: unknown) => {
        // A port in use must not leave the HTTPS listener open behind a failed start.
        await tls?.close(0);
        throw err;
      });
      watcher = startRouteWatcher({
        serverUrl: config.serverUrl,
        token: config.token,
        logger,
        backoffMs: config.reconnectMs,
        edgeId,
        onMessage: (message) => {
          if (message.type === 'snapshot') loadedGate.snapshot(message.revision);
          sync.apply(message);
        },
      });
      if (tls !== null) {
        certificateWatcher = startCertificateWatcher({
          serverUrl: config.serverUrl, token: config.token, stateDir: config.stateDir, table: certificates, logger, backoffMs: config.reconnectMs,
        });
      }
      const { port } = server.address() as AddressInfo;
      logger.info({ port, httpsPort: https, routes: table.current.byId.size }, 'edge listening');
      return https === undefined ? { port } : { port, httpsPort: https };
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Tunnels never end by themselves and server.close() would wait for them forever.
      upgrades.closeAll();
      // close() already drops idle keep-alive sockets; these catch the ones that go idle
      // after their last in-flight response, and cut everything once the grace is over.
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const cut = setTimeout(() => server.closeAllConnections(), config.closeGraceMs ?? 10_000);
      loadedGate.close();
      await Promise.all([closed, tls?.close(config.closeGraceMs ?? 10_000), watcher?.close(), certificateWatcher?.close(), sync.close()]);
      clearInterval(idle);
      clearTimeout(cut);
      // Every client connection is gone, so no pool has anyone left to answer.
      await pools.close();
      await wake.close();
      await journalView.close();
      await diskBound.stop();
    },
  };
}
