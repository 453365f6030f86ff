/** Build state of a version (docs/architecture.md §3). `ready` means the release exists. */
export const VERSION_STATES = ['queued', 'building', 'ready', 'failed'] as const;
export type VersionState = (typeof VERSION_STATES)[number];

/** What a version is: a static file tree or a dynamic app. `auto` is only accepted as input. */
export const VERSION_KINDS = ['static', 'dynamic'] as const;
export type VersionKind = (typeof VERSION_KINDS)[number];

/** State of a long-running operation, polled through `GET /api/v1/operations/:id`. */
export const OPERATION_STATES = ['running', 'succeeded', 'failed'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/** Rings a version moves through; a deployment starts with `production` only. */
export const RING_NAMES = ['dev', 'staging', 'production'] as const;
export type RingName = (typeof RING_NAMES)[number];

/**
 * A deployment's overall state, derived from its versions and services: `degraded` is active
 * with a service short of healthy instances because some spent their crash-loop budget.
 */
export const DEPLOYMENT_STATES = ['empty', 'building', 'active', 'degraded', 'failed'] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/**
 * Roles an API key can carry. `operator` is the platform's own key (the one `slipway up` writes):
 * an admin of the default tenant that also manages tenants and runs platform-wide upkeep.
 * `admin` manages its tenant (keys, domains, branding) besides everything `member` does;
 * `read_only` reads and never changes anything; `internal` is for the edge and agents.
 */
export const API_KEY_ROLES = ['operator', 'admin', 'member', 'read_only', 'internal'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** The roles a tenant's admin may give a key it creates (`operator` and `internal` are the platform's). */
export const TENANT_KEY_ROLES = ['admin', 'member', 'read_only'] as const satisfies readonly ApiKeyRole[];
export type TenantKeyRole = (typeof TENANT_KEY_ROLES)[number];

/** A tenant serves its apps while `active`; `suspended` stops them and serves its suspension page. */
export const TENANT_STATES = ['active', 'suspended'] as const;
export type TenantState = (typeof TENANT_STATES)[number];

/**
 * How a tenant's apps and the edge's own pages on its hosts look (issue 11). Every field is
 * optional; without any the pages are neutral. `pages` replaces the edge's page bodies by HTML
 * of the tenant's own, keyed by page (`not_found`, `starting`, `unavailable`, `suspended`,
 * `maintenance`, `certificate_pending`).
 */
export interface TenantBranding {
  display_name?: string;
  logo_url?: string;
  primary_color?: string;
  background_color?: string;
  text_color?: string;
  support_url?: string;
  pages?: Partial<Record<EdgePageName, string>>;
}

/**
 * The most bytes (UTF-8) of `branding.pages`, all pages together. Each route of the tenant
 * carries its branding to every edge, so this bounds what a tenant adds to the route feed per
 * deployment. The API refuses more; the edge ignores a page over it.
 */
export const MAX_BRANDING_PAGES_BYTES = 64 * 1024;

/** The pages the edge answers by itself on an app's host. */
export const EDGE_PAGE_NAMES = ['not_found', 'starting', 'unavailable', 'suspended', 'maintenance', 'certificate_pending'] as const;
export type EdgePageName = (typeof EDGE_PAGE_NAMES)[number];

/**
 * Kinds of claimed domain rows: `custom` (one host for one deployment) and `tenant` (a base under
 * which every deployment of the tenant is served). `managed` hosts follow from slugs and have no row.
 */
export const DOMAIN_KINDS = ['custom', 'tenant'] as const;
export type DomainKind = (typeof DOMAIN_KINDS)[number];

/** Domain ownership: `pending_verification → verified → active` (served with a certificate) or `error`. */
export const DOMAIN_STATES = ['pending_verification', 'verified', 'active', 'error'] as const;
export type DomainState = (typeof DOMAIN_STATES)[number];

/** A domain's certificate: `none → issuing → issued | error`. */
export const TLS_STATES = ['none', 'issuing', 'issued', 'error'] as const;
export type TlsState = (typeof TLS_STATES)[number];
