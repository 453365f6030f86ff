import type { Route, RouteRelease } from '../core/routes.js';
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

/** An immutable view of every route; requests read one and never see it change. */
export interface RouteSnapshot {
  readonly revision: number;
  /** `<slug>.<baseDomain>` → entry. */
  readonly byHost: ReadonlyMap<string, RouteEntry>;
  /** deployment_id → entry. */
  readonly byId: ReadonlyMap<string, RouteEntry>;
}

/** A preview host resolved to its deployment and version. */
export interface PreviewMatch {
  readonly entry: RouteEntry;
  readonly release: RouteRelease;
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
    const proxy = createProxyTarget(v, route.sticky);
    if (proxy !== null) (previewProxies ??= new Map()).set(v.version_number, proxy);
  }
  return {
    route,
    target: site === null ? null : { site, spaFallback: route.spa_fallback },
    proxy: route.active === null ? null : createProxyTarget(route.active, route.sticky),
    versions: new Map(route.versions.map((v) => [v.version_number, v])),
    // Shared when empty: most routes are static, and a table rebuild touches every route.
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
 * Host → what to serve. The table is a {@link RouteSnapshot} replaced by reference on every
 * change, so a request sees the old table or the new one, never a mix. Each change rebuilds
 * the maps (copy-on-write): O(routes), about 1 ms per 10k routes on this machine kind, paid
 * by the watcher and never by a request.
 */
export class RouteTable {
  readonly #suffix: string;
  #current: RouteSnapshot = { revision: 0, byHost: new Map(), byId: new Map() };

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
    const byHost = new Map<string, RouteEntry>();
    const byId = new Map<string, RouteEntry>();
    for (const entry of entries) {
      byId.set(entry.route.deployment_id, entry);
      byHost.set(entry.route.slug + this.#suffix, entry);
    }
    this.#current = { revision, byHost, byId };
    return this.#current;
  }

  /** The entry whose active host is `hostname` (already normalized by {@link normalizeHost}). */
  active(hostname: string): RouteEntry | undefined {
    return this.#current.byHost.get(hostname);
  }

  /** Resolves `v<N>--<slug>.<baseDomain>` to a ready version, or null. */
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

/**
 * The host name of a `Host` header: port and trailing dot removed, lower-cased. IP literals
 * and empty values give null: they never name a route.
 */
export function normalizeHost(host: string | undefined): string | null {
  if (host === undefined || host.length === 0 || host.charCodeAt(0) === 0x5b) return null;
  const colon = host.indexOf(':');
  let name = colon === -1 ? host : host.slice(0, colon);
  if (name.endsWith('.')) name = name.slice(0, -1);
  return name.toLowerCase();
}
