import { and, eq, inArray, isNull } from 'drizzle-orm';
import { SlipwayError } from '../../core/errors.js';
import { lookupHostname } from '../../core/hostname.js';
import { managedLabel } from '../../core/slug.js';
import { deployments, domains, tenants } from '../../store/schema.js';
import type { Db, Tx } from '../../store/store.js';
import { DEFAULT_TENANT_SLUG } from '../bootstrap.js';
import type { Principal } from '../context.js';
import type { DomainRow } from './domain-view.js';

/** States in which a domain is served (its host is in the routes). */
export const SERVED_STATES = ['verified', 'active'] as const;

export function isServed(row: Pick<DomainRow, 'state'>): boolean {
  return (SERVED_STATES as readonly string[]).includes(row.state);
}

export function domainNotFound(idOrHost: string): SlipwayError {
  return new SlipwayError('domain_not_found', `no domain "${idOrHost.slice(0, 300)}"`, { details: { domain: idOrHost.slice(0, 300) } });
}

/** The managed host of a deployment: `<slug>.<base>` (default tenant) or `<slug>--<tenant>.<base>`. */
export function managedHost(slug: string, tenantSlug: string, baseDomain: string): string {
  return `${managedLabel(slug, tenantSlug === DEFAULT_TENANT_SLUG ? null : tenantSlug)}.${baseDomain}`;
}

/** The tenant's slug; tenants are never hard-deleted, so a principal's tenant always has one. */
export async function tenantSlugOf(db: Db, tenantId: string): Promise<string> {
  const [row] = await db.select({ slug: tenants.slug }).from(tenants).where(eq(tenants.id, tenantId)).limit(1);
  return row?.slug ?? DEFAULT_TENANT_SLUG;
}

/** The tenant's verified (or active) bases. */
export async function servedTenantBases(db: Db, tenantId: string): Promise<DomainRow[]> {
  return db.select().from(domains).where(and(
    eq(domains.tenantId, tenantId), eq(domains.kind, 'tenant'), isNull(domains.deletedAt), inArray(domains.state, [...SERVED_STATES]),
  ));
}

/**
 * A live claimed domain of the caller's tenant, by id (`dom_…`) or host name (in any spelling
 * that normalizes to it: `Bücher.test` finds `xn--bcher-kva.test`). A foreign
 * tenant's domain is the same `domain_not_found` as a missing one; so is a custom domain of a
 * deployment outside a project-scoped key's project.
 */
export async function findDomain(db: Db, principal: Principal, idOrHost: string): Promise<DomainRow> {
  const key = idOrHost.startsWith('dom_') ? eq(domains.id, idOrHost) : eq(domains.hostname, lookupHostname(idOrHost));
  const [row] = await db.select().from(domains).where(and(key, eq(domains.tenantId, principal.tenantId), isNull(domains.deletedAt))).limit(1);
  if (!row) throw domainNotFound(idOrHost);
  if (principal.projectId !== null && row.deploymentId !== null) {
    const [dep] = await db.select({ projectId: deployments.projectId }).from(deployments).where(eq(deployments.id, row.deploymentId)).limit(1);
    if (dep?.projectId !== principal.projectId) throw domainNotFound(idOrHost);
  }
  return row;
}

/** The live deployments a domain's routing change touches: its own, or every one of the tenant for a base. */
export async function affectedDeployments(tx: Tx, row: DomainRow): Promise<string[]> {
  if (row.kind === 'custom') return row.deploymentId === null ? [] : [row.deploymentId];
  const rows = await tx.select({ id: deployments.id }).from(deployments)
    .where(and(eq(deployments.tenantId, row.tenantId), isNull(deployments.deletedAt))).orderBy(deployments.id);
  return rows.map((r) => r.id);
}

/**
 * True when `hostname` is a host the caller's tenant is served at without a row: a managed
 * host of one of its deployments, or `<slug>.<base>` under one of its verified bases.
 */
export async function isDerivedHost(db: Db, principal: Principal, name: { hostname: string; baseDomain: string }): Promise<boolean> {
  const { baseDomain } = name;
  const host = lookupHostname(name.hostname);
  const dot = host.indexOf('.');
  if (dot <= 0) return false;
  const [first, parent] = [host.slice(0, dot), host.slice(dot + 1)];
  const live = (slug: string) => db.select({ id: deployments.id }).from(deployments)
    .where(and(eq(deployments.tenantId, principal.tenantId), eq(deployments.slug, slug), isNull(deployments.deletedAt))).limit(1);
  if (parent === baseDomain) {
    const tenantSlug = await tenantSlugOf(db, principal.tenantId);
    const slug = tenantSlug === DEFAULT_TENANT_SLUG ? first : first.endsWith(`--${tenantSlug}`) ? first.slice(0, -tenantSlug.length - 2) : null;
    return slug !== null && (await live(slug)).length > 0;
  }
  const bases = await servedTenantBases(db, principal.tenantId);
  return bases.some((b) => b.hostname === parent) && (await live(first)).length > 0;
}

/** Re-exported where its callers (deployment and tenant deletion) have always found it. */
export { releaseDeploymentDomains, releaseTenantDomains } from './domain-release.js';
