import { SlipwayError } from '../core/errors.js';
import type { Route, RouteHost, RouteMessage, RouteRelease } from '../core/routes.js';
import { isSha256Hex } from '../util/sha256.js';

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** An HTTP token (RFC 9110 §5.6.2): what a header or cookie name may be. */
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** `host:port` with a DNS name, IPv4 or bracketed IPv6 host. */
const ADDRESS_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\]):([0-9]{1,5})$/;

/**
 * True for an upstream address the edge can dial. It becomes an undici origin
 * (`http://<address>`) and a TCP target, so anything that could smuggle a path, userinfo or a
 * second host is refused here.
 */
export function isUpstreamAddress(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = ADDRESS_RE.exec(value);
  const port = m === null ? 0 : Number(m[1]);
  return port >= 1 && port <= 65535;
}

function isRelease(value: unknown): value is RouteRelease {
  const r = value as Partial<RouteRelease> | null;
  return (
    typeof r === 'object' && r !== null &&
    Number.isSafeInteger(r.version_number) && (r.version_number ?? 0) > 0 &&
    typeof r.version_id === 'string' &&
    // The sha names a file under the state directory: anything but 64 hex is refused here.
    typeof r.artifact_sha256 === 'string' && isSha256Hex(r.artifact_sha256) &&
    (r.kind === undefined || r.kind === 'static' || r.kind === 'dynamic') &&
    (r.upstreams === undefined || (Array.isArray(r.upstreams) && r.upstreams.every(isUpstreamAddress)))
  );
}

/** A lower-case ASCII host name as the server stores them (core/hostname.ts): it becomes a Location header too. */
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

function isRouteHost(value: unknown): boolean {
  const h = value as Partial<RouteHost> | null;
  return (
    typeof h === 'object' && h !== null && typeof h.name === 'string' && HOSTNAME_RE.test(h.name) &&
    (h.redirect_to === undefined || (typeof h.redirect_to === 'string' && HOSTNAME_RE.test(h.redirect_to))) &&
    (h.https_redirect === undefined || typeof h.https_redirect === 'boolean') &&
    (h.hsts_max_age === undefined || (Number.isSafeInteger(h.hsts_max_age) && h.hsts_max_age >= 0))
  );
}

function isSticky(value: unknown): boolean {
  if (value === undefined || value === null || value === 'none') return true;
  if (typeof value !== 'object' || Object.keys(value).length !== 1) return false;
  const s = value as { cookie?: unknown; header?: unknown };
  const name = s.cookie ?? s.header;
  return typeof name === 'string' && TOKEN_RE.test(name);
}

/**
 * True when `value` has the shape of a {@link Route}. The edge checks what it receives (from
 * the server or its own routes.json) because a bad sha or slug would otherwise reach file
 * paths and host matching.
 */
export function isRoute(value: unknown): value is Route {
  const r = value as Partial<Route> | null;
  return (
    typeof r === 'object' && r !== null &&
    typeof r.deployment_id === 'string' &&
    typeof r.slug === 'string' && SLUG_RE.test(r.slug) &&
    (r.label === undefined || (typeof r.label === 'string' && SLUG_RE.test(r.label))) &&
    (r.hosts === undefined || (Array.isArray(r.hosts) && r.hosts.every(isRouteHost))) &&
    typeof r.spa_fallback === 'boolean' &&
    isSticky(r.sticky) &&
    (r.active === null || isRelease(r.active)) &&
    Array.isArray(r.versions) && r.versions.every(isRelease)
  );
}

/** Parses one watch-stream message (the SSE `data:` JSON); throws `invalid_request` if malformed. */
export function parseRouteMessage(data: string): RouteMessage {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(data) as Record<string, unknown>;
  } catch (err) {
    throw new SlipwayError('invalid_request', 'route message is not JSON', { cause: err });
  }
  const ok =
    typeof m === 'object' && m !== null && Number.isSafeInteger(m.revision) &&
    ((m.type === 'snapshot' && Array.isArray(m.routes) && m.routes.every(isRoute)) ||
      (m.type === 'upsert' && isRoute(m.route)) ||
      (m.type === 'remove' && typeof m.deployment_id === 'string'));
  if (!ok) {
    throw new SlipwayError('invalid_request', 'malformed route message', { details: { type: m?.type } });
  }
  return m as unknown as RouteMessage;
}
