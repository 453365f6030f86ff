import type { Route, RouteHost, RouteRelease } from '../core/routes.js';
import { createProxyTarget, type ProxyTarget } from './pick-upstream.js';
import type { Site } from './site.js';
import type { StaticTarget } from './static-handler.js';

/** One deployment as the edge serves it right now. */
export interface RouteEntry {
  readonly route: Route;
  /**
   * The active static release's site; null while nothing is active (its host answers 404) or
   * when the active release is dynamic.
   */
  readonly target: StaticTarget | null;
  /** The active release's instances when it is dynamic, else null. */
  readonly proxy: ProxyTarget | null;
  /** Ready versions by number, for preview hosts. */
  readonly versions: ReadonlyMap<number, RouteRelease>;
  /** The instances of each dynamic version, by number, for its preview host. */
  readonly previewProxies: ReadonlyMap<number, ProxyTarget>;
}

/**
 * Every route. {@link RouteTable.publish} replaces the current snapshot with a new one (the old
 * one is never changed again); {@link RouteTable.update} changes the current one in place.
 */
export interface RouteSnapshot {
  readonly revision: number;
  /**
   * Every host a route is served at → its entry: the managed `<label ?? slug>.<baseDomain>`
   * and each of its `hosts` (tenant-base hosts and verified custom domains).
   */
  readonly byHost: ReadonlyMap<string, RouteEntry>;
  /** deployment_id → entry. */
  readonly byId: ReadonlyMap<string, RouteEntry>;
  /** The options of each host in a route's `hosts` (redirects, HSTS), by host name. */
  readonly hostOptions: ReadonlyMap<string, RouteHost>;
}

/** A preview host resolved to its deployment and version. */
export interface PreviewMatch {
  readonly entry: RouteEntry;
  readonly release: RouteRelease;
}

/** The table's own view of its current snapshot: the one it may change in place. */
interface LiveSnapshot extends RouteSnapshot {
  revision: number;
  readonly byHost: Map<string, RouteEntry>;
  readonly byId: Map<string, RouteEntry>;
  readonly hostOptions: Map<string, RouteHost>;
}

const NO_PROXIES: ReadonlyMap<number, ProxyTarget> = new Map();
const PREVIEW_RE = /^v([1-9][0-9]{0,9})--(.+)$/;

/**
 * Builds an entry; `site` must be the loaded release of a static `route.active` (null when
 * none is active or it is dynamic: dynamic releases are never loaded).
 */
export function createRouteEntry(route: Route, site: Site | null): RouteEntry {
  let previewProxies: Map<number, ProxyTarget> | null = null;
  for (const v of route.versions) {
    const proxy = createProxyTarget(v, route.sticky, route.tenant);
    if (proxy !== null) (previewProxies ??= new Map()).set(v.version_number, proxy);
  }
  return {
    route,
    target: site === null ? null : { site, spaFallback: route.spa_fallback, tenant: route.tenant },
    proxy: route.active === null ? null : createProxyTarget(route.active, route.sticky, route.tenant),
    versions: new Map(route.versions.map((v) => [v.version_number, v])),
    // Shared when empty: most routes are static.
    previewProxies: previewProxies ?? NO_PROXIES,
  };
}

/** True when `release` is served by proxying to instances rather than from its files. */
export function isDynamic(release: RouteRelease): boolean {
  return release.kind === 'dynamic';
}

/** Every upstream address a snapshot names (active and preview), for closing unused pools. */
export function upstreamAddresses(snapshot: RouteSnapshot): Set<string> {
  const out = new Set<string>();
  for (const entry of snapshot.byId.values()) {
    for (const address of entry.proxy?.upstreams ?? []) out.add(address);
    for (const proxy of entry.previewProxies.values()) for (const address of proxy.upstreams) out.add(address);
  }
  return out;
}

/**
 * Host → what to serve. {@link publish} replaces the whole table by reference (a snapshot from
 * the server); {@link update} changes only the routes it names, in place, in one synchronous
 * step: O(change), so a rollback costs the same at 10 routes or 100,000. Entries are immutable
 * and a request reads one entry per lookup, between event-loop turns, so it sees a host's old
 * entry or its new one, never half of either (docs/architecture.md §7).
 */
export class RouteTable {
  readonly #suffix: string;
  #current: LiveSnapshot = { revision: 0, byHost: new Map(), byId: new Map(), hostOptions: new Map() };
  /** Resolves the promise {@link nextChange} handed out, at the next change. */
  #changed: { promise: Promise<void>; resolve: () => void } | null = null;

  /** `baseDomain` is the suffix of every app host (`localhost`, `apps.example.com`). */
  constructor(baseDomain: string) {
    this.#suffix = `.${baseDomain.toLowerCase().replace(/^\.+|\.+$/g, '')}`;
  }

  /** The snapshot requests are served from. */
  get current(): RouteSnapshot {
    return this.#current;
  }

  /** Makes `entries` the whole table at `revision`, in one reference swap. */
  publish(revision: number, entries: Iterable<RouteEntry>): RouteSnapshot {
    const next: LiveSnapshot = { revision, byHost: new Map(), byId: new Map(), hostOptions: new Map() };
    for (const entry of entries) {
      next.byId.set(entry.route.deployment_id, entry);
      this.#link(next, entry);
    }
    this.#current = next;
    this.#notify();
    return this.#current;
  }

  /**
   * Removes the deployments `removes` names, then adds or replaces `upserts`, in place, and
   * sets the revision. {@link current} keeps its identity: its maps are the live table.
   */
  update(revision: number, upserts: Iterable<RouteEntry>, removes: Iterable<string> = []): void {
    const live = this.#current;
    const { byHost, byId, hostOptions } = live;
    const unlink = (old: RouteEntry) => {
      // A freed slug or released domain may already name another deployment's entry.
      const managed = this.#managedHost(old.route);
      if (byHost.get(managed) === old) byHost.delete(managed);
      for (const host of old.route.hosts ?? []) {
        if (byHost.get(host.name) !== old) continue;
        byHost.delete(host.name);
        hostOptions.delete(host.name);
      }
    };
    for (const id of removes) {
      const old = byId.get(id);
      if (old === undefined) continue;
      byId.delete(id);
      unlink(old);
    }
    for (const entry of upserts) {
      const old = byId.get(entry.route.deployment_id);
      // O(hosts of the route): a host it lost must not keep serving it.
      if (old !== undefined) unlink(old);
      byId.set(entry.route.deployment_id, entry);
      this.#link(live, entry);
    }
    this.#current.revision = revision;
    this.#notify();
  }

  /** `<label ?? slug>.<baseDomain>`: the host every deployment is served at. */
  #managedHost(route: Route): string {
    return (route.label ?? route.slug) + this.#suffix;
  }

  /** Indexes `entry` under each of its hosts in `snapshot`. */
  #link(snapshot: LiveSnapshot, entry: RouteEntry): void {
    const managed = this.#managedHost(entry.route);
    // A name with the preview syntax belongs to another deployment's version: indexed as an
    // active host it would win over that preview (active() is asked first). The API refuses
    // such slugs; this holds for rows made before it did.
    if (!this.#looksLikePreview(managed)) snapshot.byHost.set(managed, entry);
    for (const host of entry.route.hosts ?? []) {
      if (this.#looksLikePreview(host.name)) continue;
      snapshot.byHost.set(host.name, entry);
      snapshot.hostOptions.set(host.name, host);
    }
  }

  /** True for `v<N>--<label>.<baseDomain>`, the names {@link preview} resolves. */
  #looksLikePreview(hostname: string): boolean {
    // The first character rules out nearly every name before the slice and the regex.
    return hostname.charCodeAt(0) === 0x76 && hostname.endsWith(this.#suffix) && PREVIEW_RE.test(hostname.slice(0, -this.#suffix.length));
  }

  #notify(): void {
    const changed = this.#changed;
    this.#changed = null;
    changed?.resolve();
  }

  /**
   * Resolves at the next {@link publish} or {@link update}, for a request that waits for a route to change (a
   * websocket handshake waiting for a woken version's instance). One promise is shared by every
   * waiter until then.
   */
  nextChange(): Promise<void> {
    if (this.#changed === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#changed = { promise, resolve };
    }
    return this.#changed.promise;
  }

  /** The entry whose active host is `hostname` (already normalized by {@link normalizeHost}). */
  active(hostname: string): RouteEntry | undefined {
    return this.#current.byHost.get(hostname);
  }

  /** The options of a host from a route's `hosts` (a custom domain or tenant-base host); undefined for managed hosts. */
  hostOptions(hostname: string): RouteHost | undefined {
    return this.#current.hostOptions.get(hostname);
  }

  /** Resolves `v<N>--<label>.<baseDomain>` to a ready version, or null. */
  preview(hostname: string): PreviewMatch | null {
    if (!hostname.endsWith(this.#suffix)) return null;
    const match = PREVIEW_RE.exec(hostname.slice(0, -this.#suffix.length));
    if (match === null) return null;
    const entry = this.#current.byHost.get(match[2] + this.#suffix);
    const release = entry?.versions.get(Number(match[1]));
    return entry === undefined || release === undefined ? null : { entry, release };
  }

  /** The instances a host proxies to (an active or preview dynamic release), else null. */
  proxyTarget(hostname: string): ProxyTarget | null {
    const entry = this.#current.byHost.get(hostname);
    if (entry !== undefined) return entry.proxy;
    const preview = this.preview(hostname);
    return preview === null ? null : preview.entry.previewProxies.get(preview.release.version_number) ?? null;
  }
}

/** What {@link normalizeHost} returns for a `Host` value that is not `host[:port]`: a 400. */
export const MALFORMED_HOST = Symbol('malformed Host');

/**
 * The host name of a `Host` header: port and trailing dot removed, lower-cased. Empty values
 * and IP literals give null: they never name a route. Anything that is not `uri-host[:port]`
 * (RFC 9110 §7.2; a port of at most 65535) gives {@link MALFORMED_HOST}: such a request is
 * refused rather than guessed at, as nginx does.
 */
export function normalizeHost(host: string | undefined): string | null | typeof MALFORMED_HOST {
  if (host === undefined || host.length === 0) return null;
  if (host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf(']');
    if (close === -1 || !/^[0-9A-Fa-f:.]+$|^v[0-9A-Fa-f]+\.[\w.~!$&'()*+,;=:-]+$/.test(host.slice(1, close))) return MALFORMED_HOST;
    return validPort(host, close + 1) ? null : MALFORMED_HOST;
  }
  const colon = host.indexOf(':');
  const end = colon === -1 ? host.length : colon;
  if (end === 0 || !validPort(host, end)) return MALFORMED_HOST;
  for (let i = 0; i < end; i++) {
    if (!isRegNameChar(host.charCodeAt(i))) return MALFORMED_HOST;
  }
  let name = colon === -1 ? host : host.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name.toLowerCase();
}

/** True when `host` ends at `at` or continues with `:` and a port of at most 65535. */
function validPort(host: string, at: number): boolean {
  if (at === host.length) return true;
  if (host.charCodeAt(at) !== 0x3a) return false;
  const digits = host.length - at - 1;
  // An empty port is allowed by RFC 3986 (`host:`); more than five digits never fits.
  if (digits > 5) return false;
  let port = 0;
  for (let i = at + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    port = port * 10 + (c - 0x30);
  }
  return port <= 65535;
}

/** RFC 3986 reg-name: unreserved, sub-delims and `%` (pct-encoded hosts name no route, but are well-formed). */
function isRegNameChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x25 ||
    c === 0x21 || c === 0x24 || (c >= 0x26 && c <= 0x2c) || c === 0x3b || c === 0x3d;
}
