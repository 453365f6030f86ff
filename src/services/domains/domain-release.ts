import { and, eq, inArray, isNull } from 'drizzle-orm';
import { deployments, domains } from '../../store/schema.js';
import type { Tx } from '../../store/store.js';
import type { ServiceContext } from '../context.js';
import { recordEvent } from '../event-log.js';
import { currentCertificateRevision, supersedeCertificates } from '../tls/certificate-store.js';
import type { DomainRow } from './domain-view.js';

/** What a release did that the caller acts on after the commit. */
export interface Released {
  rows: DomainRow[];
  /** A live certificate was superseded: emit `certificates` after the commit ({@link notifyCertificates}). */
  certificates: boolean;
}

/**
 * The host names whose certificates go with a released row: a custom domain's own name; for a
 * tenant base, `<slug>.<base>` of each live deployment of the tenant and the wildcard `*.<base>`.
 */
async function certificateHosts(tx: Tx, row: DomainRow): Promise<string[]> {
  if (row.kind === 'custom') return [row.hostname];
  const live = await tx.select({ slug: deployments.slug }).from(deployments)
    .where(and(eq(deployments.tenantId, row.tenantId), isNull(deployments.deletedAt)));
  return [`*.${row.hostname}`, ...live.map((d) => `${d.slug}.${row.hostname}`)];
}

/**
 * Records what releasing `rows` (already marked deleted in `tx`) means, in the same
 * transaction: a `domain.removed` event each (a host's history then shows it serving nothing
 * from that moment), and the certificates of the hosts they served superseded, so the next
 * claimant gets its own and edges stop offering this one.
 */
export async function afterRelease(tx: Tx, rows: DomainRow[], why: { actor: string; reason: (row: DomainRow) => string }): Promise<Released> {
  let certificates = false;
  for (const d of rows) {
    await recordEvent(tx, {
      tenantId: d.tenantId, deploymentId: d.deploymentId, type: 'domain.removed', actor: why.actor, reason: why.reason(d),
      data: { domain_id: d.id, hostname: d.hostname, kind: d.kind },
    });
    for (const host of await certificateHosts(tx, d)) {
      if (await supersedeCertificates(tx, host)) certificates = true;
    }
  }
  return { rows, certificates };
}

/**
 * Releases the custom domains of a deployment being deleted, inside its transaction (see
 * {@link afterRelease}); a deleted deployment must not keep host names from being claimed. Also
 * supersedes the certificates of its `<slug>.<base>` hosts under its tenant's bases. The caller
 * emits `certificates` after the commit when `certificates` is true.
 */
export async function releaseDeploymentDomains(tx: Tx, deploymentId: string, actor: string): Promise<Released> {
  const now = new Date();
  const rows = await tx.update(domains).set({ deletedAt: now, updatedAt: now, nextCheckAt: null })
    .where(and(eq(domains.deploymentId, deploymentId), isNull(domains.deletedAt))).returning();
  const released = await afterRelease(tx, rows, { actor, reason: (d) => `released ${d.hostname} with its deployment` });
  const [dep] = await tx.select({ slug: deployments.slug, tenantId: deployments.tenantId }).from(deployments).where(eq(deployments.id, deploymentId)).limit(1);
  if (dep === undefined) return released;
  const bases = await tx.select({ hostname: domains.hostname }).from(domains)
    .where(and(eq(domains.tenantId, dep.tenantId), inArray(domains.kind, ['tenant']), isNull(domains.deletedAt)));
  for (const b of bases) {
    if (await supersedeCertificates(tx, `${dep.slug}.${b.hostname}`)) released.certificates = true;
  }
  return released;
}

/**
 * Releases every live domain of a tenant being deleted (its deployments' custom domains go
 * with {@link releaseDeploymentDomains}; this takes what is left, its bases), with the same
 * events and certificate supersession.
 */
export async function releaseTenantDomains(tx: Tx, tenantId: string, actor: string): Promise<Released> {
  const now = new Date();
  const rows = await tx.update(domains).set({ deletedAt: now, updatedAt: now, nextCheckAt: null })
    .where(and(eq(domains.tenantId, tenantId), isNull(domains.deletedAt))).returning();
  return afterRelease(tx, rows, { actor, reason: (d) => `released ${d.hostname} with its tenant` });
}

/** Tells this server's certificate feed (and through it every edge) after a commit that superseded certificates. */
export async function notifyCertificates(ctx: ServiceContext): Promise<void> {
  ctx.notifier.emit('certificates', String(await currentCertificateRevision(ctx.store.db)));
}
