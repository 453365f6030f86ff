import { SlipwayError } from '../../core/errors.js';
import type { ServiceContext } from '../context.js';
import { allowedHost, hasValidCertificate } from './acme-allow.js';
import type { AcmeCa } from './acme-ca.js';
import { AcmeIssuer, type IssueOutcome } from './acme-issuer.js';
import { recentFailures, retryDelayMs, type AcmeLimits } from './acme-orders.js';
import { AcmeScheduler } from './acme-scheduler.js';
import { liveCertificatesFor, type LiveCertificate } from './certificate-store.js';

/** Settings of {@link AcmeService}. */
export interface AcmeServiceOptions {
  limits: AcmeLimits;
  /** How often the scheduler looks for domains to issue or renew (ms). */
  checkIntervalMs: number;
  /** The clock (tests move it). */
  now?: () => Date;
}

/** The answer to an on-demand request. */
export type DemandAnswer =
  | { state: 'issued' }
  | { state: 'issuing' }
  | { state: 'retry_later'; next_attempt_at: string };

/**
 * Certificates from an ACME CA (SLIPWAY_ACME_DIRECTORY_URL): the scheduler that issues and
 * renews, and on-demand issuance for a TLS handshake whose host has no certificate yet.
 */
export class AcmeService {
  readonly issuer: AcmeIssuer;
  readonly scheduler: AcmeScheduler;
  /** Orders this server runs in the background, by host. */
  private readonly inFlight = new Map<string, Promise<IssueOutcome>>();
  private readonly now: () => Date;

  constructor(private readonly ctx: ServiceContext, ca: AcmeCa, options: AcmeServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.issuer = new AcmeIssuer(ctx, ca, { limits: options.limits, now: this.now });
    this.scheduler = new AcmeScheduler(ctx, this.issuer, { intervalMs: options.checkIntervalMs, now: this.now });
  }

  /** Starts the issue and renewal loop. */
  start(): void {
    this.scheduler.start();
  }

  /** Stops the loop and waits for orders in progress. */
  async stop(): Promise<void> {
    await this.scheduler.stop();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /**
   * On-demand issuance for `host` (through {@link certificateForEdge}, for an SNI name the edge
   * has no certificate for). A host the allow-check refuses is `domain_not_found` and places no order; within the
   * rate limits (else `acme_rate_limited`) and outside a failure's backoff, the order runs in
   * the background and the answer is `issuing`.
   */
  async demand(host: string): Promise<DemandAnswer> {
    const { db } = this.ctx.store;
    const now = this.now();
    const allowed = await allowedHost(db, host);
    if (!allowed) throw new SlipwayError('domain_not_found', `no verified domain serves ${host}`);
    if (await hasValidCertificate(db, allowed.hostname, now)) return { state: 'issued' };
    let retryAt = allowed.nextAttemptAt;
    if (!allowed.domainId) {
      const { failures, lastFinishedAt } = await recentFailures(db, allowed.hostname);
      retryAt = lastFinishedAt ? new Date(lastFinishedAt.getTime() + retryDelayMs(failures)) : null;
    }
    if (retryAt && retryAt > now) return { state: 'retry_later', next_attempt_at: retryAt.toISOString() };
    const target = { ...allowed, reason: 'demand' as const };
    const claim = await this.issuer.claim(target);
    if (!claim.claimed) {
      if (claim.reason === 'rate_limited') throw new SlipwayError('acme_rate_limited', claim.message);
      return { state: 'issuing' };
    }
    const run = this.issuer.run(target, claim.orderId);
    this.inFlight.set(allowed.hostname, run);
    void run.catch((err: unknown) => this.ctx.logger.warn({ err, host }, 'on-demand ACME order failed'))
      .finally(() => this.inFlight.delete(allowed.hostname));
    return { state: 'issuing' };
  }

  /**
   * The edge's on-demand request for a host the local CA does not serve (the certificate
   * route's fallback): {@link demand}, then up to `waitMs` for an order this server runs, so the
   * handshake that asked can already use the certificate. Null when there is none yet (it
   * comes on the certificate stream) or the host is refused (no order placed).
   */
  async certificateForEdge(host: string, waitMs = 2500): Promise<LiveCertificate | null> {
    let answer: DemandAnswer;
    try {
      answer = await this.demand(host);
    } catch (err) {
      if (err instanceof SlipwayError && (err.code === 'domain_not_found' || err.code === 'acme_rate_limited')) return null;
      throw err;
    }
    const hostname = host.toLowerCase();
    const running = this.inFlight.get(hostname);
    if (answer.state === 'issuing' && running) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))]);
      clearTimeout(timer);
    }
    if (answer.state === 'retry_later') return null;
    const live = await liveCertificatesFor(this.ctx.store.db, this.ctx.secrets, {
      hostname, now: this.now(), onUnreadable: (id, err) => this.ctx.logger.warn({ err, id, host }, 'certificate key does not open'),
    });
    return live.reduce<LiveCertificate | null>((best, c) => (best === null || c.not_after > best.not_after ? c : best), null);
  }
}
