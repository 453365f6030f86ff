import { and, eq, gt, inArray, isNull, lte, notExists, or, sql } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { certificates, domains, tenants } from '../../store/schema.js';
import type { ServiceContext } from '../context.js';
import { recordEvent } from '../event-log.js';
import { allowedHost, liveAcmeCertificate } from './acme-allow.js';
import { certificateExpiredMessage, renewalTime, type AcmeIssuer, type IssueOutcome } from './acme-issuer.js';
import { recentFailures, retryDelayMs } from './acme-orders.js';

/** Most hosts one pass works on, so a pass stays bounded; the rest wait for the next. */
const MAX_PER_PASS = 50;

/** What one pass did for one host. */
export interface PassResult {
  hostname: string;
  outcome: IssueOutcome | { state: 'not_due'; renewAt: Date } | { state: 'not_allowed' };
}

/**
 * Issues certificates for verified custom domains of active tenants and renews ACME
 * certificates at two thirds of their lifetime (docs/domains.md#acme). Each domain's
 * `tls_next_attempt_at` says when it is next due: its renewal time after an issuance, its
 * backoff after a failure. A served certificate that has expired is reported on every pass that
 * finds it, whatever `tls_state` says (renewals failing is the usual way there): the domain goes
 * back from `active` to `verified` with `tls_state = error`, `certificate_expired: …` (event
 * `domain.certificate_expired`), and later failures keep that headline. Hosts under a tenant
 * base, which have no domain row, are renewed while the allow-check still admits them, with
 * the same backoff counted from their failed orders.
 */
export class AcmeScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly now: () => Date;

  constructor(private readonly ctx: ServiceContext, private readonly issuer: AcmeIssuer, private readonly options: { intervalMs: number; now?: () => Date }) {
    this.now = options.now ?? (() => new Date());
  }

  /** Runs a pass now and then every `intervalMs`. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the loop and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.ctx.logger.warn({ err }, 'ACME pass failed'))
        .finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: report expired certificates, then every due domain and every ACME certificate due for renewal, one host at a time. */
  async runOnce(): Promise<PassResult[]> {
    await this.reportExpired();
    return [...(await this.customDomains()), ...(await this.tenantHosts())];
  }

  /** Active custom domains whose live ACME certificate has expired with no valid one beside it. */
  private async reportExpired(): Promise<void> {
    const { db } = this.ctx.store;
    const now = this.now();
    const valid = alias(certificates, 'valid_certificates');
    const rows = await db.select({ id: domains.id, hostname: domains.hostname, tenantId: domains.tenantId, deploymentId: domains.deploymentId, notAfter: certificates.notAfter })
      .from(domains)
      .innerJoin(certificates, and(
        eq(certificates.hostname, domains.hostname), eq(certificates.issuer, 'acme'), isNull(certificates.supersededAt), lte(certificates.notAfter, now),
      ))
      .where(and(
        eq(domains.kind, 'custom'), eq(domains.state, 'active'), isNull(domains.deletedAt),
        notExists(db.select({ id: valid.id }).from(valid).where(and(eq(valid.hostname, domains.hostname), isNull(valid.supersededAt), gt(valid.notAfter, now)))),
      )).limit(MAX_PER_PASS);
    for (const d of rows) {
      const error = certificateExpiredMessage(d.hostname, d.notAfter);
      const reported = await db.transaction(async (tx) => {
        // `active` means served with a valid certificate, which it no longer is; still verified, still routed.
        const moved = await tx.update(domains).set({ state: 'verified', tlsState: 'error', tlsError: error, updatedAt: now })
          .where(and(eq(domains.id, d.id), eq(domains.state, 'active'))).returning({ id: domains.id });
        if (moved.length === 0) return false;
        await recordEvent(tx, {
          tenantId: d.tenantId, deploymentId: d.deploymentId, type: 'domain.certificate_expired', actor: 'system', reason: error,
          data: { hostname: d.hostname, domain_id: d.id, not_after: d.notAfter.toISOString() },
        });
        return true;
      });
      if (reported && d.deploymentId) this.ctx.notifier.emit('events', d.deploymentId);
    }
  }

  private async customDomains(): Promise<PassResult[]> {
    const { db } = this.ctx.store;
    const now = this.now();
    // The allow-check's conditions, in the query: a suspended or deleted tenant's domains get no order.
    const due = await db.select({ id: domains.id, hostname: domains.hostname, tenantId: domains.tenantId, deploymentId: domains.deploymentId })
      .from(domains).innerJoin(tenants, eq(tenants.id, domains.tenantId))
      .where(and(
        eq(domains.kind, 'custom'), isNull(domains.deletedAt), inArray(domains.state, ['verified', 'active']),
        eq(tenants.state, 'active'), isNull(tenants.deletedAt),
        or(isNull(domains.tlsNextAttemptAt), lte(domains.tlsNextAttemptAt, now)),
      )).orderBy(domains.tlsNextAttemptAt).limit(MAX_PER_PASS);
    const results: PassResult[] = [];
    for (const d of due) {
      if (this.stopped) break;
      const cert = await liveAcmeCertificate(db, d.hostname);
      if (cert && cert.notAfter > now && now < renewalTime(cert.notBefore, cert.notAfter)) {
        const renewAt = renewalTime(cert.notBefore, cert.notAfter);
        await db.update(domains).set({ tlsNextAttemptAt: renewAt }).where(eq(domains.id, d.id));
        results.push({ hostname: d.hostname, outcome: { state: 'not_due', renewAt } });
        continue;
      }
      const outcome = await this.issuer.issue({
        hostname: d.hostname, tenantId: d.tenantId, deploymentId: d.deploymentId, domainId: d.id, reason: cert ? 'renew' : 'issue',
      });
      results.push({ hostname: d.hostname, outcome });
    }
    return results;
  }

  private async tenantHosts(): Promise<PassResult[]> {
    const { db } = this.ctx.store;
    const now = this.now();
    // Live ACME certificates past their renewal time (two thirds of their life, as renewalTime)
    // whose host has no custom domain row, the nearest to expiry first.
    const renewAt = sql`${certificates.notBefore} + (${certificates.notAfter} - ${certificates.notBefore}) * 2 / 3`;
    const rows = await db.select({ hostname: certificates.hostname })
      .from(certificates)
      .leftJoin(domains, and(eq(domains.hostname, certificates.hostname), isNull(domains.deletedAt)))
      .where(and(
        eq(certificates.issuer, 'acme'), isNull(certificates.supersededAt), isNull(domains.id),
        sql`${renewAt} <= ${now.toISOString()}::timestamptz`,
      ))
      .orderBy(certificates.notAfter).limit(MAX_PER_PASS);
    const results: PassResult[] = [];
    for (const c of rows) {
      if (this.stopped) break;
      const allowed = await allowedHost(db, c.hostname);
      if (!allowed) {
        results.push({ hostname: c.hostname, outcome: { state: 'not_allowed' } });
        continue;
      }
      const { failures, lastFinishedAt } = await recentFailures(db, c.hostname);
      if (lastFinishedAt && now.getTime() < lastFinishedAt.getTime() + retryDelayMs(failures)) continue;
      const outcome = await this.issuer.issue({ hostname: c.hostname, tenantId: allowed.tenantId, deploymentId: allowed.deploymentId, domainId: null, reason: 'renew' });
      results.push({ hostname: c.hostname, outcome });
    }
    return results;
  }
}
