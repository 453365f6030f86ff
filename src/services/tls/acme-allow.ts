import { and, desc, eq, gt, inArray, isNull } from 'drizzle-orm';
import { certificates, deployments, domains, tenants } from '../../store/schema.js';
import type { Db, Tx } from '../../store/store.js';
import type { IssueTarget } from './acme-ca.js';

/** The allow-check's answer for a host that may get a certificate: whom it belongs to. */
export type AllowedHost = Omit<IssueTarget, 'reason'> & {
  /** The custom domain's retry time after a failure, or null. */
  nextAttemptAt: Date | null;
};

/**
 * The allow-check of on-demand issuance (issue 11): only a verified or active custom domain, or
 * `<slug>.<tenant base>` where the base is the tenant's verified `tenant` domain and `<slug>` a
 * live deployment of that tenant, may cause an ACME order, and only while the tenant is active.
 * Anything else (unknown, unverified, removed, another tenant's slug) is null: no order.
 */
export async function allowedHost(db: Db, host: string): Promise<AllowedHost | null> {
  const hostname = host.toLowerCase();
  const [custom] = await db.select({ id: domains.id, tenantId: domains.tenantId, deploymentId: domains.deploymentId, next: domains.tlsNextAttemptAt })
    .from(domains).innerJoin(tenants, eq(tenants.id, domains.tenantId))
    .where(and(
      eq(domains.hostname, hostname), eq(domains.kind, 'custom'), isNull(domains.deletedAt), inArray(domains.state, ['verified', 'active']),
      eq(tenants.state, 'active'), isNull(tenants.deletedAt),
    ));
  if (custom) return { hostname, tenantId: custom.tenantId, deploymentId: custom.deploymentId, domainId: custom.id, nextAttemptAt: custom.next };
  const dot = hostname.indexOf('.');
  if (dot <= 0) return null;
  const [base] = await db.select({ tenantId: domains.tenantId }).from(domains).innerJoin(tenants, eq(tenants.id, domains.tenantId))
    .where(and(
      eq(domains.hostname, hostname.slice(dot + 1)), eq(domains.kind, 'tenant'), isNull(domains.deletedAt), inArray(domains.state, ['verified', 'active']),
      eq(tenants.state, 'active'), isNull(tenants.deletedAt),
    ));
  if (!base) return null;
  const [deployment] = await db.select({ id: deployments.id }).from(deployments)
    .where(and(eq(deployments.tenantId, base.tenantId), eq(deployments.slug, hostname.slice(0, dot)), isNull(deployments.deletedAt)));
  if (!deployment) return null;
  return { hostname, tenantId: base.tenantId, deploymentId: deployment.id, domainId: null, nextAttemptAt: null };
}

/** The newest live ACME certificate of `hostname` (not superseded), expired or not. */
export async function liveAcmeCertificate(db: Db | Tx, hostname: string): Promise<{ id: string; notBefore: Date; notAfter: Date } | null> {
  const [row] = await db.select({ id: certificates.id, notBefore: certificates.notBefore, notAfter: certificates.notAfter }).from(certificates)
    .where(and(eq(certificates.hostname, hostname), eq(certificates.issuer, 'acme'), isNull(certificates.supersededAt)))
    .orderBy(desc(certificates.notAfter)).limit(1);
  return row ?? null;
}

/** True when `hostname` has a live certificate of any issuer that has not expired at `now`. */
export async function hasValidCertificate(db: Db, hostname: string, now: Date): Promise<boolean> {
  const [row] = await db.select({ id: certificates.id }).from(certificates)
    .where(and(eq(certificates.hostname, hostname), isNull(certificates.supersededAt), gt(certificates.notAfter, now))).limit(1);
  return row !== undefined;
}
