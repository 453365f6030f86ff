import { and, eq, inArray, isNull, like, or } from 'drizzle-orm';
import { SlipwayError } from '../../core/errors.js';
import { deployments, domains } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/** What is being claimed, by which tenant. */
export interface HostClaim {
  tenantId: string;
  kind: 'custom' | 'tenant';
  hostname: string;
}

/** Every name above `hostname`: `a.b.c.d` → `b.c.d`, `c.d`, `d`. */
export function ancestorsOf(hostname: string): string[] {
  const labels = hostname.split('.');
  return labels.slice(1).map((_, i) => labels.slice(i + 1).join('.'));
}

function taken(hostname: string): SlipwayError {
  return new SlipwayError('domain_taken', `${hostname} is claimed by someone else; it can be claimed once they release it`, { details: { hostname } });
}

function exists(hostname: string, why: string): SlipwayError {
  return new SlipwayError('domain_exists', `${hostname} ${why}`, { details: { hostname } });
}

/**
 * Refuses a claim that would let two tenants serve one host, or one host serve two deployments.
 * Live rows count in any state (a pending claim holds its name too). The caller runs this and
 * its insert under one lock, so a racing claim cannot slip between them.
 *
 * - the name itself: `domain_exists` when the claiming tenant holds it, else `domain_taken`;
 * - any ancestor that is another tenant's base (its `<slug>.<base>` hosts are that tenant's);
 * - for a base: any live name under it that another tenant holds (custom or base);
 * - within the tenant, `domain_exists` for a custom name that is `<slug>.<base>` of one of its
 *   own bases and live deployments, or a base under which one of its custom names is such a
 *   host (that host serves the deployment through the base already).
 *
 * Another tenant's names answer `domain_taken` alike, whichever rule hit: it never says which.
 */
export async function refuseHostCollisions(db: Db, claim: HostClaim): Promise<void> {
  const { tenantId, kind, hostname } = claim;
  const ancestors = ancestorsOf(hostname);
  const rows = await db.select({ tenantId: domains.tenantId, hostname: domains.hostname, kind: domains.kind }).from(domains).where(and(
    isNull(domains.deletedAt),
    or(inArray(domains.hostname, [hostname, ...ancestors]), kind === 'tenant' ? like(domains.hostname, `%.${hostname}`) : undefined),
  ));
  for (const r of rows) {
    if (r.hostname === hostname) throw r.tenantId === tenantId ? exists(hostname, 'is already claimed by this tenant') : taken(hostname);
  }
  for (const r of rows) {
    if (r.tenantId === tenantId) continue;
    const above = r.hostname !== hostname && hostname.endsWith(`.${r.hostname}`);
    if (above && r.kind === 'tenant') throw taken(hostname);
    if (!above && kind === 'tenant' && r.hostname.endsWith(`.${hostname}`)) throw taken(hostname);
  }
  // Within the tenant: a custom `<slug>.<base>` and the base's own host for that slug must not both be.
  const pairs = kind === 'custom'
    ? rows.filter((r) => r.tenantId === tenantId && r.kind === 'tenant' && hostname === `${firstLabel(hostname)}.${r.hostname}`)
      .map((r) => ({ slug: firstLabel(hostname), base: r.hostname, custom: hostname }))
    : rows.filter((r) => r.tenantId === tenantId && r.kind === 'custom' && r.hostname === `${firstLabel(r.hostname)}.${hostname}`)
      .map((r) => ({ slug: firstLabel(r.hostname), base: hostname, custom: r.hostname }));
  if (pairs.length === 0) return;
  const live = await db.select({ slug: deployments.slug }).from(deployments).where(and(
    eq(deployments.tenantId, tenantId), inArray(deployments.slug, pairs.map((p) => p.slug)), isNull(deployments.deletedAt),
  ));
  const hit = pairs.find((p) => live.some((d) => d.slug === p.slug));
  if (hit !== undefined) throw exists(hostname, `would serve deployment "${hit.slug}" twice: ${hit.custom} is also its host under the tenant's base ${hit.base}`);
}

function firstLabel(hostname: string): string {
  return hostname.slice(0, hostname.indexOf('.'));
}
