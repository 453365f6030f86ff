import type { IncomingMessage } from 'node:http';
import type { Route, RouteRelease, RouteTenant } from '../core/routes.js';

/** How requests that carry a session key are pinned to one instance. */
export type StickyRule = { readonly from: 'cookie' | 'header'; readonly name: string };

/**
 * Where a dynamic release's requests go: its instances and how to choose one. Built once per
 * route change, off the hot path; only {@link ProxyTarget.cursor} changes afterwards.
 */
export interface ProxyTarget {
  /** `host:port` of every healthy instance, in the server's stable order; may be empty. */
  readonly upstreams: readonly string[];
  readonly sticky: StickyRule | null;
  /**
   * No sticky rule and not `none`: once there are two or more upstreams the edge pins clients
   * with its own cookie (`edge-affinity.ts`).
   */
  readonly affinity: boolean;
  /** The route's tenant, for the edge's own answers (branded-pages.ts); absent: the default tenant. */
  readonly tenant: RouteTenant | undefined;
  /** The affinity tokens of {@link upstreams}, computed on first use. */
  tokens: readonly string[] | null;
  /** 32-bit hashes of {@link upstreams}, for rendezvous hashing of sticky keys. */
  readonly hashes: Uint32Array;
  /** Round-robin position: the index the next unpinned request takes. */
  cursor: number;
  /**
   * Passive health: per upstream, until when (epoch ms) it is skipped because a connect to it
   * just failed (the instance died and the route naming it has not changed yet). Null until
   * the first failure, so the common path reads one field. A route change builds a new target,
   * so an address the server lists again starts out up.
   */
  downUntil: Float64Array | null;
}

/**
 * How long an upstream whose connect failed is skipped. Long enough that a burst of requests
 * does not dial a dead instance again (its route change usually lands within this), short
 * enough that an instance restarted at the same address is used again soon.
 */
export const UPSTREAM_DOWN_MS = 1_000;

/** The proxy target of a dynamic release (null for a static one). */
export function createProxyTarget(release: RouteRelease, sticky: Route['sticky'], tenant?: RouteTenant): ProxyTarget | null {
  if (release.kind !== 'dynamic') return null;
  const upstreams = release.upstreams ?? [];
  let rule: StickyRule | null = null;
  if (sticky != null && sticky !== 'none') {
    rule = 'cookie' in sticky ? { from: 'cookie', name: sticky.cookie } : { from: 'header', name: sticky.header.toLowerCase() };
  }
  return { upstreams, sticky: rule, affinity: sticky == null, tenant, tokens: null, hashes: Uint32Array.from(upstreams, hashString), cursor: 0, downUntil: null };
}

/** Skips `target.upstreams[index]` until `untilMs` (epoch ms; a connect to it failed). */
export function markUpstreamDown(target: ProxyTarget, index: number, untilMs = Date.now() + UPSTREAM_DOWN_MS): void {
  if (index < 0 || index >= target.upstreams.length) return;
  target.downUntil ??= new Float64Array(target.upstreams.length);
  target.downUntil[index] = untilMs;
}

/** True while `target.upstreams[index]` is skipped ({@link markUpstreamDown}). */
export function isUpstreamDown(target: ProxyTarget, index: number, now = Date.now()): boolean {
  const down = target.downUntil;
  return down !== null && (down[index] as number) > now;
}

/**
 * The index in `target.upstreams` this request goes to, or -1 when there is none (or every one
 * is marked down, {@link markUpstreamDown}: down upstreams are never chosen). A request
 * carrying the sticky key goes to the instance with the highest rendezvous score for it: the
 * same instance while the list is unchanged, and when an instance is added or removed only the
 * keys that must move do (plain modulo hashing would reshuffle nearly all sessions).
 * Everything else is round-robin.
 */
export function pickUpstream(target: ProxyTarget, req: IncomingMessage): number {
  const n = target.upstreams.length;
  if (n === 0) return -1;
  const down = target.downUntil;
  if (down !== null) return pickAmongUp(target, req, down);
  if (n === 1) return 0;
  const key = target.sticky === null ? undefined : stickyKey(req, target.sticky);
  if (key === undefined) {
    const index = target.cursor % n;
    target.cursor = index + 1;
    return index;
  }
  return rendezvous(target, key, null);
}

/** {@link pickUpstream} once some upstream has been marked down: the same rules, over the rest. */
function pickAmongUp(target: ProxyTarget, req: IncomingMessage, down: Float64Array): number {
  const n = target.upstreams.length;
  const now = Date.now();
  // Every mark has run out: back to the path that reads no clock.
  if (down.every((until) => until <= now)) {
    target.downUntil = null;
    return pickUpstream(target, req);
  }
  const key = target.sticky === null ? undefined : stickyKey(req, target.sticky);
  if (key !== undefined) return rendezvous(target, key, { down, now });
  for (let step = 0; step < n; step++) {
    const index = (target.cursor + step) % n;
    if ((down[index] as number) > now) continue;
    target.cursor = index + 1;
    return index;
  }
  return -1;
}

/** The highest-scoring upstream for `key` that is not down; -1 when all are. */
function rendezvous(target: ProxyTarget, key: string, skip: { down: Float64Array; now: number } | null): number {
  const n = target.upstreams.length;
  const keyHash = hashString(key);
  let best = -1;
  let bestScore = -1;
  for (let i = 0; i < n; i++) {
    if (skip !== null && (skip.down[i] as number) > skip.now) continue;
    const score = mix32(keyHash ^ (target.hashes[i] as number));
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}

/** The sticky value a request carries, or undefined when it has none (or an empty one). */
export function stickyKey(req: IncomingMessage, rule: StickyRule): string | undefined {
  if (rule.from === 'header') {
    const value = req.headers[rule.name];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined || first === '' ? undefined : first;
  }
  const header = req.headers.cookie;
  return header === undefined ? undefined : cookieValue(header, rule.name);
}

/** One cookie's value from a `Cookie` header (`a=1; b=2`); undefined when absent or empty. */
export function cookieValue(header: string, name: string): string | undefined {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      const value = header.slice(eq + 1, end).trim();
      return value === '' ? undefined : value;
    }
    start = end + 1;
  }
  return undefined;
}

/** FNV-1a over UTF-16 code units: cheap, and spread well enough once mixed. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's finalizer: makes every input bit affect every output bit. */
function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
