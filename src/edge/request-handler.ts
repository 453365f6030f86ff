import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteRelease } from '../core/routes.js';
import { pagesFor } from './branded-pages.js';
import { BAD_REQUEST, HEALTH_OK, METHOD_NOT_ALLOWED, NOT_FOUND, ROUTES_LOADING, sendCanned } from './canned-responses.js';
import type { ChallengeHandler } from './challenge-handler.js';
import { applyHostOptions } from './host-options.js';
import type { EdgeLogger } from './logger.js';
import { isTlsRequest } from './tls-request.js';
import type { ProxyHandler } from './proxy-handler.js';
import type { ReleaseCache } from './release-cache.js';
import { requestHost } from './request-host.js';
import type { ProxyTarget } from './pick-upstream.js';
import { MALFORMED_HOST, type PreviewMatch, type RouteEntry, type RouteTable } from './route-table.js';
import type { RoutesLoaded } from './routes-loaded.js';
import { sendWakeAnswer } from './starting-page.js';
import { serveStatic } from './static-handler.js';
import type { WakeClient } from './wake-client.js';

/**
 * The supervisor probe: answered 200 `ok` on the platform's own hosts, but only for exactly this
 * request target (no query string), so it shadows nothing else a site may serve. On a tenant's
 * hosts and custom domains it is the app's path like any other: it would name the platform.
 */
export const HEALTH_PATH = '/_slipway/health';

/** What {@link createRequestHandler} needs. */
export interface RequestHandlerDeps {
  table: RouteTable;
  cache: ReleaseCache;
  logger: EdgeLogger;
  /** Serves dynamic releases. */
  proxy: ProxyHandler;
  /** Wakes dynamic versions with no instance and hears which ones serve; absent: plain 503. */
  wake?: WakeClient;
  /**
   * Whether the table is the server's yet; absent: always. Until it is, a host the table lacks
   * waits up to {@link loadWaitMs} for it, then gets 503 with `Retry-After`, never the 404.
   */
  routesLoaded?: RoutesLoaded;
  /** How long such a request waits for the table; default {@link ROUTES_LOAD_WAIT_MS}. */
  loadWaitMs?: number;
  /**
   * Answers `/.well-known/acme-challenge/<token>` (ACME HTTP-01) on plain HTTP, for hosts the
   * routes serve, before the host's app. Domain ownership tokens are never answered by the edge.
   */
  challenges?: ChallengeHandler;
  /** The edge's HTTPS port once it listens (for `https_redirect` Locations); undefined: none, or 443. */
  httpsPort?: () => number | undefined;
}

/**
 * A restarted edge hears the server's snapshot within a few hundred milliseconds when the
 * server runs; a request for a host it does not know yet is held that long rather than failed.
 */
export const ROUTES_LOAD_WAIT_MS = 2_000;

/**
 * How long a preview release that failed to load is answered 503 straight away, without
 * another download or log line: the `Retry-After` of that 503 (canned-responses.ts), so a
 * client that honours it asks again just as the edge will try again. Without it every request
 * to a lost release would download again and log a warning. Always 503, never 404, also for
 * `blob_not_found`: the release cache throws that for an offline disk-cache miss too, which is
 * "not right now", not "no such version".
 */
export const PREVIEW_RETRY_MS = 5_000;

/** Preview releases that failed to load: sha → until when (epoch ms) not to try again. */
class FailedPreviews {
  private readonly until = new Map<string, number>();

  has(sha: string): boolean {
    const until = this.until.get(sha);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.until.delete(sha);
    return false;
  }

  add(sha: string): void {
    const now = Date.now();
    // Bounded by the shas that failed in the last window; expired ones go as new ones come.
    for (const [known, until] of this.until) if (until <= now) this.until.delete(known);
    this.until.set(sha, now + PREVIEW_RETRY_MS);
  }
}

/**
 * The edge's request listener: health probe, then `<slug>.<base>` → the active release
 * (synchronous; the site is already in memory, or the request is proxied to an instance when
 * the release is dynamic), then `v<N>--<slug>.<base>` → that version's release (proxied when
 * dynamic; else from memory, or loaded once on first use). Unknown hosts get the neutral 404,
 * but only once the table is the server's (`routes-loaded.ts`): before that they wait for it
 * briefly, then get 503 with `Retry-After`. A missing (HTTP/1.1), doubled or malformed `Host`
 * gets 400 and the connection is closed.
 */
export function createRequestHandler(deps: RequestHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { table, logger } = deps;
  /** Connections whose last answer is a 400 that closes them. */
  const refused = new WeakSet<object>();
  const failedPreviews = new FailedPreviews();
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    // node:http goes on parsing requests pipelined behind the 400: none of them may run (an
    // app would do the work and its answer would never be sent).
    if (refused.has(req.socket)) return;
    try {
      const host = requestHost(req);
      if (host === MALFORMED_HOST) {
        // Whatever follows on this connection was framed by a client that cannot be trusted.
        // HTTP/2 streams share their connection with others, which stay good: only HTTP/1 is cut.
        if (req.httpVersionMajor !== 2) {
          refused.add(req.socket);
          res.setHeader('Connection', 'close');
        }
        return sendCanned(res, req.method === 'HEAD', BAD_REQUEST);
      }
      if (req.url === HEALTH_PATH && (host === null || !isWhiteLabelHost(table, host))) {
        const method = req.method;
        if (method === 'GET' || method === 'HEAD') return sendCanned(res, method === 'HEAD', HEALTH_OK);
        return sendCanned(res, false, METHOD_NOT_ALLOWED);
      }
      if (deps.challenges?.matches(req.url) === true && !isTlsRequest(req)) return deps.challenges.handle(req, res, host);
      const entry = host === null ? undefined : table.active(host);
      if (entry !== undefined) {
        // A custom domain's redirects and HSTS (route `hosts`); managed hosts have none.
        const options = table.hostOptions(host!);
        if (options !== undefined && applyHostOptions(req, res, { options, tls: isTlsRequest(req), httpsPort: deps.httpsPort?.() })) return;
        const tenant = entry.route.tenant;
        // Nothing of a suspended tenant's release or instances is touched (issue 11).
        if (tenant?.suspended === true) return sendCanned(res, req.method === 'HEAD', pagesFor(tenant).suspended);
        if (entry.target !== null) return serveStatic(req, res, entry.target);
        if (entry.proxy !== null) return serveDynamic(req, res, { deps, entry, release: entry.route.active!, proxy: entry.proxy });
        return sendCanned(res, req.method === 'HEAD', pagesFor(tenant).notFound);
      }
      const preview = host === null ? null : table.preview(host);
      if (preview !== null) return servePreview(req, res, { ...deps, preview, failedPreviews });
      const loading = deps.routesLoaded;
      if (host === null || loading === undefined || loading.loaded) return sendCanned(res, req.method === 'HEAD', NOT_FOUND);
      // Once loaded, `handle` answers for real (the app, or the 404); it never waits twice.
      loading.wait(deps.loadWaitMs ?? ROUTES_LOAD_WAIT_MS).then(
        (loaded) => (loaded ? handle(req, res) : sendCanned(res, req.method === 'HEAD', ROUTES_LOADING)),
      ).catch((err: unknown) => fail(res, logger, err));
    } catch (err) {
      fail(res, logger, err);
    }
  };
  return handle;
}

function servePreview(
  req: IncomingMessage,
  res: ServerResponse,
  deps: RequestHandlerDeps & { preview: PreviewMatch; failedPreviews: FailedPreviews },
): void {
  const { entry, release } = deps.preview;
  const tenant = entry.route.tenant;
  const pages = pagesFor(tenant);
  if (tenant?.suspended === true) return sendCanned(res, req.method === 'HEAD', pages.suspended);
  const proxy = entry.previewProxies.get(release.version_number);
  if (proxy !== undefined) return serveDynamic(req, res, { deps, entry, release, proxy });
  const spaFallback = entry.route.spa_fallback;
  const sha = release.artifact_sha256;
  if (entry.target !== null && entry.route.active?.artifact_sha256 === sha) {
    return serveStatic(req, res, entry.target);
  }
  const site = deps.cache.get(sha);
  if (site !== undefined) return serveStatic(req, res, { site, spaFallback, tenant });
  if (deps.failedPreviews.has(sha)) return sendCanned(res, req.method === 'HEAD', pages.unavailable);
  deps.cache.load(sha).then(
    (loaded) => serveStatic(req, res, { site: loaded, spaFallback, tenant }),
    (err: unknown) => {
      deps.failedPreviews.add(sha);
      deps.logger.warn({ err, sha256: sha, version: release.version_number, retryInMs: PREVIEW_RETRY_MS }, 'preview release unavailable');
      sendCanned(res, req.method === 'HEAD', pages.unavailable);
    },
  ).catch((err: unknown) => fail(res, deps.logger, err));
}

/**
 * Proxies to a dynamic version's instances; with none, asks for the version to be woken and
 * answers "starting" (or why it cannot start) instead of a bare 503.
 */
function serveDynamic(
  req: IncomingMessage,
  res: ServerResponse,
  at: { deps: RequestHandlerDeps; entry: RouteEntry; release: RouteRelease; proxy: ProxyTarget },
): void {
  const { deps, entry, release, proxy } = at;
  const wake = deps.wake;
  if (wake === undefined) return deps.proxy(req, res, proxy);
  if (proxy.upstreams.length > 0) {
    wake.used(release.version_id);
    return deps.proxy(req, res, proxy);
  }
  wake.wake({ deploymentId: entry.route.deployment_id, versionNumber: release.version_number })
    .then((answer) => sendWakeAnswer(req, res, { answer, pages: pagesFor(entry.route.tenant) }))
    .catch((err: unknown) => fail(res, deps.logger, err));
}

/**
 * True for a host that is not the platform's own: a tenant's (its route carries `tenant`) or a
 * custom domain (one of its route's `hosts`), whatever its tenant.
 */
export function isWhiteLabelHost(table: RouteTable, host: string): boolean {
  const entry = table.active(host) ?? table.preview(host)?.entry;
  return entry !== undefined && (entry.route.tenant !== undefined || entry.route.hosts?.some((h) => h.name === host) === true);
}

/** A bug, not a client error: log it and answer 500 if nothing was sent yet. */
function fail(res: ServerResponse, logger: EdgeLogger, err: unknown): void {
  logger.error({ err }, 'edge request failed');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end('Internal Server Error\n');
}
