import type { EdgeLogger } from './logger.js';
import type { RouteTable } from './route-table.js';
import type { UnknownHostHook } from './tls-listener.js';
import type { EdgeCertificate, SniTable } from './tls-sni-table.js';

/** What {@link createOnDemandCertificates} needs. */
export interface OnDemandConfig {
  serverUrl: string;
  /** An internal API key. */
  token: string;
  routes: RouteTable;
  table: SniTable;
  logger: EdgeLogger;
}

/**
 * The edge's default `onUnknownHost` hook: for a host its route table serves (an app's host or
 * a preview), asks the server for a certificate (`POST /api/v1/internal/certificates/issue`)
 * and serves the one it answers with at once, before the stream brings it too. A name the
 * table does not serve is never passed on: the server would refuse it anyway (its own
 * allow-check), and a flood of made-up names must not reach it. This is how hosts a wildcard
 * cannot cover get a certificate on their first handshake: `*.localhost` is refused by curl,
 * browsers and node alike (no wildcard directly under a top-level name).
 */
export function createOnDemandCertificates(config: OnDemandConfig): UnknownHostHook {
  const url = `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/certificates/issue`;
  return (host) => {
    if (!servesHost(config.routes, host)) return;
    return (async () => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hostname: host }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await res.json() as { data?: { certificate: EdgeCertificate | null } };
      const certificate = body.data?.certificate;
      if (res.status !== 200 || certificate == null) return;
      config.table.set(certificate, (_c, err) => config.logger.warn({ err, host }, 'issued certificate does not load'));
    })();
  };
}

/** Whether `routes` serves `host` (an app's host, a custom domain or a preview): a cheap look-up. */
export function servesHost(routes: RouteTable, host: string): boolean {
  return routes.active(host) !== undefined || routes.preview(host) !== null;
}
