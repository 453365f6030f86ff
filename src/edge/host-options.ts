import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RouteHost } from '../core/routes.js';

/**
 * Applies a custom domain's options before its app is served. Returns true when it answered
 * (a redirect), false when the app should serve (after an HSTS header was set, on HTTPS).
 * Order: plain HTTP with `https_redirect` goes to HTTPS on the same host first (so HSTS can
 * then be set there), then `redirect_to` sends every request to the same path on that host.
 * Both are 308, which keeps the method and body. An HTTPS Location carries `httpsPort` (the
 * edge's HTTPS port) unless it is 443 or unknown.
 */
export function applyHostOptions(req: IncomingMessage, res: ServerResponse, at: { options: RouteHost; tls: boolean; httpsPort?: number }): boolean {
  const { options, tls } = at;
  const httpsAuthority = (host: string) => (at.httpsPort === undefined || at.httpsPort === 443 ? host : `${host}:${at.httpsPort}`);
  if (tls && options.hsts_max_age !== undefined) res.setHeader('Strict-Transport-Security', `max-age=${options.hsts_max_age}`);
  // Only an origin-form target is kept: an absolute-form one (`GET http://other/…`) must not
  // end up inside the Location.
  const url = req.url ?? '/';
  const path = url.startsWith('/') ? url : '/';
  if (!tls && options.https_redirect === true) return redirect(res, `https://${httpsAuthority(options.name)}${path}`);
  if (options.redirect_to !== undefined) return redirect(res, tls ? `https://${httpsAuthority(options.redirect_to)}${path}` : `http://${options.redirect_to}${path}`);
  return false;
}

function redirect(res: ServerResponse, location: string): true {
  res.writeHead(308, { Location: location, 'Content-Length': 0, 'Cache-Control': 'no-store' });
  res.end();
  return true;
}
