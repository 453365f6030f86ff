import { SlipwayError } from '../core/errors.js';
import type { Route, RouteMessage, RouteRelease } from '../core/routes.js';
import { isSha256Hex } from '../util/sha256.js';

const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function isRelease(value: unknown): value is RouteRelease {
  const r = value as Partial<RouteRelease> | null;
  return (
    typeof r === 'object' && r !== null &&
    Number.isSafeInteger(r.version_number) && (r.version_number ?? 0) > 0 &&
    typeof r.version_id === 'string' &&
    // The sha names a file under the state directory: anything but 64 hex is refused here.
    typeof r.artifact_sha256 === 'string' && isSha256Hex(r.artifact_sha256)
  );
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
    typeof r.spa_fallback === 'boolean' &&
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
