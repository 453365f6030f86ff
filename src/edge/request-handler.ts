import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteRelease } from '../core/routes.js';
import { BAD_REQUEST, HEALTH_OK, METHOD_NOT_ALLOWED, NOT_FOUND, UNAVAILABLE, sendCanned } from './canned-responses.js';
import type { EdgeLogger } from './logger.js';
import type { ProxyHandler } from './proxy-handler.js';
import type { ReleaseCache } from './release-cache.js';
import { requestHost } from './request-host.js';
import type { ProxyTarget } from './pick-upstream.js';
import { MALFORMED_HOST, type PreviewMatch, type RouteEntry, type RouteTable } from './route-table.js';
import { sendWakeAnswer } from './starting-page.js';
import { serveStatic } from './static-handler.js';
import type { WakeClient } from './wake-client.js';

/**
 * The supervisor probe: answered 200 `ok` on every host, but only for exactly this request
 * target (no query string), so it shadows nothing else a site may serve.
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
}

/**
 * The edge's request listener: health probe, then `<slug>.<base>` → the active release
 * (synchronous; the site is already in memory, or the request is proxied to an instance when
 * the release is dynamic), then `v<N>--<slug>.<base>` → that version's release (proxied when
 * dynamic; else from memory, or loaded once on first use). Unknown hosts get the neutral 404;
 * a missing (HTTP/1.1), doubled or malformed `Host` gets 400 and the connection is closed.
 */
export function createRequestHandler(deps: RequestHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { table, logger } = deps;
  /** Connections whose last answer is a 400 that closes them. */
  const refused = new WeakSet<object>();
  return (req, res) => {
    // node:http goes on parsing requests pipelined behind the 400: none of them may run (an
    // app would do the work and its answer would never be sent).
    if (refused.has(req.socket)) return;
    try {
      const host = requestHost(req);
      if (host === MALFORMED_HOST) {
        // Whatever follows on this connection was framed by a client that cannot be trusted.
        refused.add(req.socket);
        res.setHeader('Connection', 'close');
        return sendCanned(res, req.method === 'HEAD', BAD_REQUEST);
      }
      if (req.url === HEALTH_PATH) {
        const method = req.method;
        if (method === 'GET' || method === 'HEAD') return sendCanned(res, method === 'HEAD', HEALTH_OK);
        return sendCanned(res, false, METHOD_NOT_ALLOWED);
      }
      const entry = host === null ? undefined : table.active(host);
      if (entry !== undefined) {
        if (entry.target !== null) return serveStatic(req, res, entry.target);
        if (entry.proxy !== null) return serveDynamic(req, res, { deps, entry, release: entry.route.active!, proxy: entry.proxy });
        return sendCanned(res, req.method === 'HEAD', NOT_FOUND);
      }
      const preview = host === null ? null : table.preview(host);
      if (preview === null) return sendCanned(res, req.method === 'HEAD', NOT_FOUND);
      servePreview(req, res, { ...deps, preview });
    } catch (err) {
      fail(res, logger, err);
    }
  };
}

function servePreview(
  req: IncomingMessage,
  res: ServerResponse,
  deps: RequestHandlerDeps & { preview: PreviewMatch },
): void {
  const { entry, release } = deps.preview;
  const proxy = entry.previewProxies.get(release.version_number);
  if (proxy !== undefined) return serveDynamic(req, res, { deps, entry, release, proxy });
  const spaFallback = entry.route.spa_fallback;
  const sha = release.artifact_sha256;
  if (entry.target !== null && entry.route.active?.artifact_sha256 === sha) {
    return serveStatic(req, res, entry.target);
  }
  const site = deps.cache.get(sha);
  if (site !== undefined) return serveStatic(req, res, { site, spaFallback });
  deps.cache.load(sha).then(
    (loaded) => serveStatic(req, res, { site: loaded, spaFallback }),
    (err: unknown) => {
      deps.logger.warn({ err, sha256: sha, version: release.version_number }, 'preview release unavailable');
      sendCanned(res, req.method === 'HEAD', UNAVAILABLE);
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
    .then((answer) => sendWakeAnswer(req, res, answer))
    .catch((err: unknown) => fail(res, deps.logger, err));
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
