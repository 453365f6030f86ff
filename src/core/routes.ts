/**
 * The routing table the server streams to the edge (`GET /api/v1/internal/routes?watch=true`,
 * Server-Sent Events). The edge never reads the database: it applies these messages, keeps the
 * last table on disk, and serves from it while the server is away.
 */

import type { TenantBranding } from './states.js';

/** A release the edge can serve, by version number. */
export interface RouteRelease {
  version_number: number;
  version_id: string;
  artifact_sha256: string;
  /**
   * `static` (default when absent): the edge serves the release's files from memory.
   * `dynamic`: the edge proxies to {@link upstreams} and never downloads the release.
   */
  kind?: 'static' | 'dynamic';
  /**
   * Dynamic only: `host:port` of every healthy instance of this version, in a stable order.
   * Empty while none is healthy (the edge answers 503).
   */
  upstreams?: string[];
}

/** Everything the edge needs to serve one deployment. */
export interface Route {
  deployment_id: string;
  /** DNS label, unique within its tenant. */
  slug: string;
  /**
   * The managed host's first label: the app is served at `<label>.<base domain>` and its
   * versions at `v<N>--<label>.<base domain>`. `<slug>` for the default tenant,
   * `<slug>--<tenant slug>` for the others. Absent (older servers and journals): `slug`.
   */
  label?: string;
  /**
   * Further host names that serve this deployment's active release: the tenant's own base
   * (`<slug>.apps.example-brand.com`) and verified custom domains. Lower-case ASCII (punycode).
   */
  hosts?: RouteHost[];
  /** The tenant the deployment belongs to, for its branding and suspension. Absent: the default tenant. */
  tenant?: RouteTenant;
  /** When true, unknown paths without a file extension serve `/index.html` with 200. */
  spa_fallback: boolean;
  /**
   * Dynamic only: how the edge picks an upstream. Absent: edge-managed affinity, once there is
   * more than one instance: a client without the edge's affinity cookie is round-robined and
   * given one naming its instance (an opaque token), and stays there while that instance is in
   * the pool. `{ cookie: name }` or `{ header: name }`: requests with the same value of that
   * cookie or header go to the same instance while the pool is unchanged (requests without it
   * are round-robined). `none`: plain round-robin.
   */
  sticky?: { cookie: string } | { header: string } | 'none' | null;
  /** The production ring's active release, or null before the first promotion. */
  active: RouteRelease | null;
  /** Every ready version, for immutable preview hosts `v<N>--<slug>.<base domain>`. */
  versions: RouteRelease[];
}

/** A host name besides the managed one, with its per-host options. */
export interface RouteHost {
  /** Lower-case ASCII host name, no port, no trailing dot. */
  name: string;
  /** When set, every request to this host is redirected (308) to the same path on this host. */
  redirect_to?: string;
  /** When true, plain HTTP requests are redirected (308) to HTTPS. */
  https_redirect?: boolean;
  /** When set, HTTPS answers carry `Strict-Transport-Security: max-age=<n>`. */
  hsts_max_age?: number;
}

/** What the edge needs to know of a deployment's tenant. */
export interface RouteTenant {
  id: string;
  slug: string;
  /** True while the tenant is suspended: its hosts answer the suspension page. */
  suspended?: boolean;
  /**
   * Branding of the pages the edge answers by itself on this tenant's hosts; absent or null,
   * neutral pages. Same shape as the API's `branding` (core/states.ts TenantBranding).
   */
  branding?: TenantBranding | null;
}

/**
 * One message of the watch stream. The SSE `event:` field carries `type`; `data:` is the JSON
 * of the whole message. `revision` grows by one per change; a `snapshot` replaces the table.
 */
export type RouteMessage =
  | { type: 'snapshot'; revision: number; routes: Route[] }
  | { type: 'upsert'; revision: number; route: Route }
  | { type: 'remove'; revision: number; deployment_id: string };
