import { X509Certificate } from 'node:crypto';
import { and, eq, inArray, isNull } from 'drizzle-orm';
import { acmeChallenges, domains } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import type { ServiceContext } from '../context.js';
import { recordEvent } from '../event-log.js';
import { acmeAccountKey } from './acme-account.js';
import { liveAcmeCertificate } from './acme-allow.js';
import type { AcmeCa } from './acme-ca.js';
import { claimOrder, finishOrder, ORDER_LEASE_MS, retryDelayMs, type AcmeLimits, type ClaimResult } from './acme-orders.js';
import { saveCertificate } from './certificate-store.js';
import type { IssueTarget } from './acme-ca.js';

export type { IssueTarget } from './acme-ca.js';

/** What one attempt came to. `skipped`: no order was placed (one is in progress, or a limit). */
export type IssueOutcome =
  | { state: 'issued'; certificateId: string; serial: string; notAfter: Date }
  | { state: 'failed'; error: string }
  | { state: 'skipped'; reason: 'in_progress' | 'rate_limited' | 'domain_released'; message: string };

/** Options for {@link AcmeIssuer}. */
export interface AcmeIssuerOptions {
  limits: AcmeLimits;
  /** The clock for leases, limits, renewal times and backoff (tests move it). */
  now?: () => Date;
}

/** The renewal time of a certificate: two thirds into its lifetime. */
export function renewalTime(notBefore: Date, notAfter: Date): Date {
  return new Date(notBefore.getTime() + ((notAfter.getTime() - notBefore.getTime()) * 2) / 3);
}

/** The `tls_error` of a domain whose served certificate has expired (event `domain.certificate_expired`). */
export function certificateExpiredMessage(hostname: string, notAfter: Date): string {
  return `certificate_expired: the certificate of ${hostname} expired at ${notAfter.toISOString()}`;
}

/**
 * Gets certificates from the ACME CA: claims the host (one order per host across servers,
 * within the rate limits), answers HTTP-01 through the `acme_challenges` rows the edge serves,
 * finalizes with a fresh P-256 key, stores the certificate sealed and reports it on the domain
 * and in events. A failure is reported the same way and retried with backoff by the scheduler;
 * the previous certificate, if any, keeps serving until it expires.
 */
export class AcmeIssuer {
  private readonly now: () => Date;

  constructor(private readonly ctx: ServiceContext, private readonly ca: AcmeCa, private readonly options: AcmeIssuerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** One attempt for `target`: {@link claim}, then {@link run}. CA failures are reported and returned, never thrown. */
  async issue(target: IssueTarget): Promise<IssueOutcome> {
    const claim = await this.claim(target);
    if (!claim.claimed) return { state: 'skipped', reason: claim.reason, message: claim.message };
    return this.run(target, claim.orderId);
  }

  /** Records the order about to be placed, within the rate limits; at most one per host at a time. */
  claim(target: IssueTarget): Promise<ClaimResult> {
    return claimOrder(this.ctx.store, {
      hostname: target.hostname, tenantId: target.tenantId, domainId: target.domainId, reason: target.reason, limits: this.options.limits, now: this.now(),
    });
  }

  /** Places the claimed order at the CA and stores or reports its outcome. */
  async run(target: IssueTarget, orderId: number): Promise<IssueOutcome> {
    const { db } = this.ctx.store;
    if (target.domainId) {
      await db.update(domains).set({ tlsState: 'issuing', updatedAt: this.now() }).where(eq(domains.id, target.domainId));
    }
    let chainPem: string;
    let keyPem: string;
    try {
      const accountKeyPem = await acmeAccountKey(db, this.ctx.secrets, this.ca);
      const csr = await this.ca.createKeyAndCsr(target.hostname);
      keyPem = csr.keyPem;
      chainPem = await this.ca.order({
        accountKeyPem, hostname: target.hostname, csrPem: csr.csrPem,
        publishHttp01: async (token, keyAuthorization) => {
          // Real time, not the injectable clock: the edge checks it against its own.
          await db.insert(acmeChallenges).values({ token, hostname: target.hostname, keyAuthorization, expiresAt: new Date(Date.now() + ORDER_LEASE_MS) })
            .onConflictDoNothing();
        },
        removeHttp01: async (token) => {
          await db.delete(acmeChallenges).where(eq(acmeChallenges.token, token));
        },
      });
    } catch (err) {
      return this.fail(target, orderId, err);
    }
    try {
      return await this.store(target, orderId, { chainPem, keyPem });
    } catch (err) {
      // An unreadable chain or a store error is this order's failure too: reported and retried
      // like the CA's, instead of leaving the order pending for its lease and the domain `issuing`.
      return this.fail(target, orderId, err);
    }
  }

  private async fail(target: IssueTarget, orderId: number, err: unknown): Promise<IssueOutcome> {
    const error = err instanceof Error ? err.message : String(err);
    await this.reportFailure(target, orderId, error);
    return { state: 'failed', error };
  }

  private async store(target: IssueTarget, orderId: number, issued: { chainPem: string; keyPem: string }): Promise<IssueOutcome> {
    const { chainPem, keyPem } = issued;
    const leaf = new X509Certificate(chainPem);
    const notBefore = new Date(leaf.validFrom);
    const notAfter = new Date(leaf.validTo);
    const now = this.now();
    const saved = await this.ctx.store.db.transaction(async (tx) => {
      if (target.domainId) {
        // A domain removed (or its host released) while the order ran gets no certificate.
        const [domain] = await tx.select({ id: domains.id }).from(domains)
          .where(and(eq(domains.id, target.domainId), isNull(domains.deletedAt), inArray(domains.state, ['verified', 'active']))).for('update');
        if (!domain) {
          await finishOrder(tx, orderId, { error: 'the domain was removed while its order ran', now });
          return null;
        }
        await tx.update(domains).set({
          state: 'active', tlsState: 'issued', tlsError: null, tlsAttempts: 0,
          tlsNextAttemptAt: renewalTime(notBefore, notAfter), updatedAt: now,
        }).where(eq(domains.id, target.domainId));
      }
      // A savepoint inside this transaction: the certificate, the domain and the event commit together.
      const cert = await saveCertificate(tx as unknown as Db, this.ctx.secrets, {
        hostname: target.hostname, tenantId: target.tenantId, issuer: 'acme', certPem: chainPem, keyPem, notBefore, notAfter,
      });
      await finishOrder(tx, orderId, { error: null, now });
      await recordEvent(tx, {
        tenantId: target.tenantId, deploymentId: target.deploymentId, type: 'domain.certificate_issued', actor: 'system',
        reason: `certificate for ${target.hostname} issued by the ACME CA`,
        data: { hostname: target.hostname, domain_id: target.domainId, serial: leaf.serialNumber, not_after: notAfter.toISOString(), reason: target.reason },
      });
      return cert;
    });
    if (!saved) return { state: 'skipped', reason: 'domain_released', message: `${target.hostname} was removed while its order ran` };
    this.ctx.notifier.emit('certificates', String(saved.revision));
    if (target.deploymentId) this.ctx.notifier.emit('events', target.deploymentId);
    return { state: 'issued', certificateId: saved.id, serial: leaf.serialNumber, notAfter };
  }

  private async reportFailure(target: IssueTarget, orderId: number, error: string): Promise<void> {
    const now = this.now();
    await this.ctx.store.db.transaction(async (tx) => {
      await finishOrder(tx, orderId, { error, now });
      let next: Date | null = null;
      let attempts = 0;
      if (target.domainId) {
        const [row] = await tx.select({ attempts: domains.tlsAttempts }).from(domains).where(eq(domains.id, target.domainId)).for('update');
        attempts = (row?.attempts ?? 0) + 1;
        next = new Date(now.getTime() + retryDelayMs(attempts));
        // Once the served certificate has expired, that stays the headline of `tls_error`.
        const live = await liveAcmeCertificate(tx, target.hostname);
        const tlsError = live && live.notAfter <= now ? `${certificateExpiredMessage(target.hostname, live.notAfter)}; renewal failed: ${error}` : error;
        await tx.update(domains).set({ tlsState: 'error', tlsError, tlsAttempts: attempts, tlsNextAttemptAt: next, updatedAt: now })
          .where(eq(domains.id, target.domainId));
      }
      await recordEvent(tx, {
        tenantId: target.tenantId, deploymentId: target.deploymentId, type: 'domain.certificate_failed', actor: 'system',
        reason: `the ACME order for ${target.hostname} failed: ${error}`,
        data: { hostname: target.hostname, domain_id: target.domainId, error, attempt: attempts, next_attempt_at: next?.toISOString() ?? null },
      });
    });
    if (target.deploymentId) this.ctx.notifier.emit('events', target.deploymentId);
  }
}
