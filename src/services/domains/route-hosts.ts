import { and, inArray, isNull } from 'drizzle-orm';
import type { RouteHost } from '../../core/routes.js';
import { domains } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import { SERVED_STATES } from './domain-queries.js';

/**
 * The further hosts of each deployment for its route: `<slug>.<base>` for every verified base
 * of its tenant, then its verified custom domains with their options (sorted, so a route's
 * JSON is the same on every server). Two queries for any number of deployments.
 */
export async function loadRouteHosts(db: Db, deps: ReadonlyArray<{ id: string; slug: string; tenantId: string }>): Promise<Map<string, RouteHost[]>> {
  const out = new Map<string, RouteHost[]>();
  if (deps.length === 0) return out;
  const served = inArray(domains.state, [...SERVED_STATES]);
  const bases = await db.select({ tenantId: domains.tenantId, hostname: domains.hostname }).from(domains).where(and(
    inArray(domains.tenantId, [...new Set(deps.map((d) => d.tenantId))]), inArray(domains.kind, ['tenant']), isNull(domains.deletedAt), served,
  )).orderBy(domains.hostname);
  const custom = await db.select().from(domains).where(and(
    inArray(domains.deploymentId, deps.map((d) => d.id)), inArray(domains.kind, ['custom']), isNull(domains.deletedAt), served,
  )).orderBy(domains.hostname);
  const basesOf = new Map<string, string[]>();
  for (const b of bases) basesOf.set(b.tenantId, [...(basesOf.get(b.tenantId) ?? []), b.hostname]);
  for (const d of deps) {
    const names = basesOf.get(d.tenantId);
    if (names !== undefined) out.set(d.id, names.map((base) => ({ name: `${d.slug}.${base}` })));
  }
  for (const c of custom) {
    const host: RouteHost = { name: c.hostname };
    if (c.redirectTo !== null) host.redirect_to = c.redirectTo;
    if (c.httpsRedirect) host.https_redirect = true;
    if (c.hstsMaxAge !== null) host.hsts_max_age = c.hstsMaxAge;
    const list = out.get(c.deploymentId!) ?? [];
    list.push(host);
    out.set(c.deploymentId!, list);
  }
  return out;
}
