/**
 * Edge-managed session affinity: for a dynamic route with no sticky rule of its own, a client
 * gets a cookie naming the instance that answered it (by an opaque token, never its address),
 * and its later requests go back there while that instance is in the pool. This keeps
 * protocols with per-instance sessions (socket.io / engine.io long-polling, in-memory login
 * sessions) working with several replicas, without the app setting any cookie or header.
 */
import { createHmac } from 'node:crypto';
import { cookieValue, type ProxyTarget } from './pick-upstream.js';

/** The cookie's name when the operator names none: says nothing of the platform behind it. */
export const DEFAULT_AFFINITY_COOKIE = 'edge_affinity';

/** Cookie names as RFC 6265 allows them (an HTTP token). */
export const COOKIE_NAME_RE = /^[!#-'*+.0-9A-Z^-z|~-]+$/;

/** The affinity settings of one edge. */
export interface AffinityConfig {
  readonly cookie: string;
  /** Keys the tokens, so a token reveals nothing of the address it names. */
  readonly key: Buffer;
  /** Adds `Secure` (clients reach the edge over https). */
  readonly secure: boolean;
}

/**
 * Affinity settings from the cookie name and a secret every edge of the platform shares (its
 * internal token), so tokens stay valid across edge restarts and between edges.
 */
export function createAffinityConfig(input: { cookie: string; secret: string; secure: boolean }): AffinityConfig {
  if (!COOKIE_NAME_RE.test(input.cookie)) throw new Error(`not a cookie name: ${JSON.stringify(input.cookie)}`);
  const key = createHmac('sha256', input.secret).update('edge affinity tokens').digest();
  return { cookie: input.cookie, key, secure: input.secure };
}

/** True when requests to `target` are pinned by the edge's own cookie. */
export function usesAffinity(target: ProxyTarget): boolean {
  return target.affinity && target.upstreams.length > 1;
}

/**
 * The index of the instance the request's affinity cookie names, or -1 when it has none, or
 * names an instance no longer in the pool (the caller picks another and re-issues the cookie).
 */
export function pinnedUpstream(target: ProxyTarget, cookieHeader: string | undefined, config: AffinityConfig): number {
  if (cookieHeader === undefined) return -1;
  const token = cookieValue(cookieHeader, config.cookie);
  return token === undefined ? -1 : tokensOf(target, config).indexOf(token);
}

/** The `Set-Cookie` value that pins a client to `target.upstreams[index]`. */
export function affinityCookie(target: ProxyTarget, index: number, config: AffinityConfig): string {
  const token = tokensOf(target, config)[index] as string;
  // No Max-Age: a session cookie; the pinning is only worth as much as the instance's memory.
  return `${config.cookie}=${token}; Path=/; HttpOnly; SameSite=Lax${config.secure ? '; Secure' : ''}`;
}

/**
 * True when a response's `Cache-Control` lets a shared cache (a CDN in front of the edge) store
 * it: `public`, `s-maxage`, or `max-age` above 0, and neither `private` nor `no-store`. Such an
 * answer gets no affinity cookie: a CDN would either serve one client's pin to everyone, or stop
 * caching the answer because it sets a cookie. The client is pinned by its next uncacheable
 * answer instead. `rawHeaders` is a flat `[name, value, …]` list (several headers are joined).
 */
export function sharedCacheable(rawHeaders: readonly string[]): boolean {
  const directives = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() !== 'cache-control') continue;
    for (const part of (rawHeaders[i + 1] as string).split(',')) {
      const [name = '', value = ''] = part.split('=', 2).map((x) => x.trim());
      if (name !== '') directives.set(name.toLowerCase(), value.replace(/^"|"$/g, ''));
    }
  }
  if (directives.has('private') || directives.has('no-store')) return false;
  const maxAge = Number(directives.get('max-age') ?? 'x');
  return directives.has('public') || directives.has('s-maxage') || maxAge > 0;
}

/** Tokens of every upstream, computed once per target (a route change makes a new target). */
function tokensOf(target: ProxyTarget, config: AffinityConfig): readonly string[] {
  target.tokens ??= target.upstreams.map((address) => createHmac('sha256', config.key).update(address).digest('base64url').slice(0, 22));
  return target.tokens;
}
