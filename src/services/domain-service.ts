import { randomBytes } from 'node:crypto';
import { and, asc, eq, inArray, isNull, lte, notInArray } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { lookupHostname, normalizeHostname } from '../core/hostname.js';
import { newId } from '../core/ids.js';
import { domains } from '../store/schema.js';
import type { Tx } from '../store/store.js';
import { createLimiter, type Limiter } from '../util/limiter.js';
import { requireRole } from './api-keys.js';
import type { Principal, ServiceContext } from './context.js';
import { findDeployment } from './deployment-queries.js';
import {
  affectedDeployments, domainNotFound, findDomain, isDerivedHost, isServed, managedHost, servedTenantBases, tenantSlugOf,
} from './domains/domain-queries.js';
import { hostAtTime, type HostAtTime } from './domains/domain-history.js';
import { afterRelease, notifyCertificates } from './domains/domain-release.js';
import { refuseHostCollisions } from './domains/host-collisions.js';
import { presentDerivedHost, presentDomain, type DomainRow, type DomainView } from './domains/domain-view.js';
import { checkOwnership, nextCheckDelayMs, VERIFICATION_WINDOW_MS, type OwnershipCheckConfig, type OwnershipResult } from './domains/ownership-check.js';
import { findChallengeAnswer, type ChallengeAnswer } from './challenge-answers.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';

/** Per-host options of a custom domain. */
export interface DomainOptions {
  /** Every request is redirected (308) to this host, same path (apex → www). null clears it. */
  redirect_to?: string | null;
  /** Plain HTTP requests are redirected (308) to HTTPS. */
  https_redirect?: boolean;
  /** HTTPS answers carry `Strict-Transport-Security: max-age=<n>`; null clears it. */
  hsts_max_age?: number | null;
}

/** A check runs at most this many domains per pass; the rest wait for the next pass. */
const CHECKS_PER_PASS = 10;
/**
 * A claimed check that has not finished after this long (its server died) is claimed again.
 * Each row is claimed just before its own check, which ends within its deadline (10 s,
 * ownership-check.ts), so the lease is never outlived by a live check.
 */
export const CHECK_LEASE_MS = 60_000;
/** At most this many ownership checks (manual and background) run at once on a server; the rest wait. */
const MAX_CONCURRENT_CHECKS = 8;
/** A manual verify within this long of the last check answers the domain as that check left it. */
export const VERIFY_THROTTLE_MS = 10_000;
/** The store lock every claim takes, so the collision checks and the insert are one step. */
const CLAIM_LOCK = 'domains:claim';

/**
 * Custom domains and tenant bases: claims, ownership verification, per-host options, removal.
 * Every change that moves what a host serves records a route change for each deployment it
 * touches in the same transaction (docs/architecture.md §7) and an event (`domain.*`) with the
 * host name, which is what the host-history lookup reads.
 */
export class DomainService {
  readonly #limit: Limiter = createLimiter(MAX_CONCURRENT_CHECKS);

  constructor(private readonly ctx: ServiceContext, private readonly checks: OwnershipCheckConfig) {}

  private get baseDomain(): string {
    return this.ctx.config.baseDomain.toLowerCase();
  }

  /** Claims a custom host name for a deployment; it is served once verified. */
  async add(principal: Principal, deployment: string, input: { hostname: string } & DomainOptions): Promise<DomainView> {
    requireRole(principal, ['member']);
    const hostname = normalizeHostname(input.hostname, this.baseDomain);
    const dep = await findDeployment(this.ctx.store.db, principal, deployment);
    const options = this.checkOptions(input);
    return this.claim(principal, { kind: 'custom', hostname, deploymentId: dep.id, ...options });
  }

  /** Claims a tenant base (`apps.example-brand.com`): once verified, every deployment of the tenant is served at `<slug>.<base>`. */
  async addTenantBase(principal: Principal, input: { hostname: string }): Promise<DomainView> {
    requireRole(principal, ['admin']);
    const hostname = normalizeHostname(input.hostname, this.baseDomain);
    return this.claim(principal, { kind: 'tenant', hostname, deploymentId: null });
  }

  private async claim(
    principal: Principal,
    claim: { kind: 'custom' | 'tenant'; hostname: string; deploymentId: string | null; redirectTo?: string | null; httpsRedirect?: boolean; hstsMaxAge?: number | null },
  ): Promise<DomainView> {
    const db = this.ctx.store.db;
    const now = new Date();
    const row: DomainRow = {
      id: newId('dom'), tenantId: principal.tenantId, deploymentId: claim.deploymentId, kind: claim.kind, hostname: claim.hostname,
      state: 'pending_verification', verificationToken: randomBytes(16).toString('hex'), verifiedBy: null, verifiedAt: null,
      checkAttempts: 0, nextCheckAt: new Date(now.getTime() + nextCheckDelayMs(1)), lastCheckedAt: null, errorCode: null, errorMessage: null,
      redirectTo: claim.redirectTo ?? null, httpsRedirect: claim.httpsRedirect ?? false, hstsMaxAge: claim.hstsMaxAge ?? null,
      tlsState: 'none', tlsError: null, tlsAttempts: 0, tlsNextAttemptAt: null, createdBy: principal.keyId, createdAt: now, updatedAt: now, deletedAt: null,
    };
    const collisions = { tenantId: principal.tenantId, kind: claim.kind, hostname: claim.hostname };
    // One claim at a time across servers: the checks read other names (a base's subtree), which
    // no unique index covers, so only a lock keeps a racing claim from passing them too.
    await this.ctx.store.withLock(CLAIM_LOCK, async () => {
      await refuseHostCollisions(db, collisions);
      await db.transaction(async (tx) => {
        await tx.insert(domains).values(row);
        await recordEvent(tx, {
          tenantId: row.tenantId, deploymentId: row.deploymentId, type: 'domain.added', actor: principal.keyId,
          reason: `claimed ${row.hostname}`, data: { domain_id: row.id, hostname: row.hostname, kind: row.kind },
        });
      });
    });
    if (row.deploymentId !== null) this.ctx.notifier.emit('events', row.deploymentId);
    return presentDomain(row);
  }

  private checkOptions(input: DomainOptions): { redirectTo?: string | null; httpsRedirect?: boolean; hstsMaxAge?: number | null } {
    const out: { redirectTo?: string | null; httpsRedirect?: boolean; hstsMaxAge?: number | null } = {};
    if (input.redirect_to !== undefined) out.redirectTo = input.redirect_to === null ? null : normalizeHostname(input.redirect_to, null);
    if (input.https_redirect !== undefined) out.httpsRedirect = input.https_redirect;
    if (input.hsts_max_age !== undefined) out.hstsMaxAge = input.hsts_max_age;
    return out;
  }

  /** A deployment's hosts: the managed one, one per verified tenant base, then its custom domains (newest first). */
  async list(principal: Principal, deployment: string): Promise<DomainView[]> {
    const db = this.ctx.store.db;
    const dep = await findDeployment(db, principal, deployment);
    const tenantSlug = await tenantSlugOf(db, dep.tenantId);
    const out = [presentDerivedHost({ kind: 'managed', hostname: managedHost(dep.slug, tenantSlug, this.baseDomain), deploymentId: dep.id })];
    for (const base of await servedTenantBases(db, dep.tenantId)) out.push(presentDerivedHost({ kind: 'tenant', hostname: `${dep.slug}.${base.hostname}`, deploymentId: dep.id, base }));
    const rows = await db.select().from(domains)
      .where(and(eq(domains.deploymentId, dep.id), eq(domains.tenantId, dep.tenantId), isNull(domains.deletedAt))).orderBy(asc(domains.id));
    return [...out, ...rows.reverse().map(presentDomain)];
  }

  /** The tenant's bases, newest first. */
  async listTenantBases(principal: Principal): Promise<DomainView[]> {
    const rows = await this.ctx.store.db.select().from(domains)
      .where(and(eq(domains.tenantId, principal.tenantId), eq(domains.kind, 'tenant'), isNull(domains.deletedAt))).orderBy(asc(domains.id));
    return rows.reverse().map(presentDomain);
  }

  /** One claimed domain, by id or host name. */
  async get(principal: Principal, idOrHost: string): Promise<DomainView> {
    return presentDomain(await findDomain(this.ctx.store.db, principal, idOrHost));
  }

  /**
   * Checks ownership now (`slipway domains verify`). A verified domain, or one checked less than
   * {@link VERIFY_THROTTLE_MS} ago, is answered as it is (its `last_checked_at` says when that
   * check ran): a caller looping on verify cannot turn the server into a DNS and HTTP client.
   */
  async verify(principal: Principal, idOrHost: string, now = new Date()): Promise<DomainView> {
    requireRole(principal, ['member']);
    const row = await findDomain(this.ctx.store.db, principal, idOrHost);
    if (row.kind === 'tenant') requireRole(principal, ['admin']);
    if (isServed(row)) return presentDomain(row);
    if (row.lastCheckedAt !== null && now.getTime() - row.lastCheckedAt.getTime() < VERIFY_THROTTLE_MS) return presentDomain(row);
    const result = await this.#limit(() => checkOwnership(this.checks, row.hostname, row.verificationToken));
    return presentDomain(await this.applyCheck(row, result, principal.keyId));
  }

  /**
   * Stores a check's outcome, only while the domain still waits for one (a removal or a
   * concurrent success wins). Success makes it `verified` and served; failure keeps it
   * pending with the next check backed off, or `error` (`verification_expired`) once the
   * window since it was added is over.
   */
  private async applyCheck(row: DomainRow, result: OwnershipResult, actor: string): Promise<DomainRow> {
    const now = new Date();
    const attempts = row.checkAttempts + 1;
    const waiting = and(eq(domains.id, row.id), isNull(domains.deletedAt), inArray(domains.state, ['pending_verification', 'error']));
    let touched: string[] = [];
    const updated = await this.ctx.store.db.transaction(async (tx) => {
      if (result.ok) {
        const [done] = await tx.update(domains).set({
          state: 'verified', verifiedBy: result.by, verifiedAt: now, checkAttempts: attempts, lastCheckedAt: now,
          nextCheckAt: null, errorCode: null, errorMessage: null, updatedAt: now,
        }).where(waiting).returning();
        if (!done) return undefined;
        await recordEvent(tx, {
          tenantId: done.tenantId, deploymentId: done.deploymentId, type: 'domain.verified', actor,
          reason: `${done.hostname} verified by ${result.by === 'dns' ? 'its DNS TXT record' : 'its HTTP token'}`,
          data: { domain_id: done.id, hostname: done.hostname, kind: done.kind, verified_by: result.by },
        });
        touched = await this.recordRouteChanges(tx, done);
        return done;
      }
      const expired = now.getTime() - row.createdAt.getTime() >= VERIFICATION_WINDOW_MS;
      const [failed] = await tx.update(domains).set({
        state: expired ? 'error' : 'pending_verification', checkAttempts: attempts, lastCheckedAt: now,
        nextCheckAt: expired ? null : new Date(now.getTime() + nextCheckDelayMs(attempts)),
        errorCode: expired ? 'verification_expired' : 'verification_failed', errorMessage: result.message, updatedAt: now,
      }).where(waiting).returning();
      return failed;
    });
    for (const id of touched) this.ctx.notifier.emit('route', id);
    if (updated?.deploymentId) this.ctx.notifier.emit('events', updated.deploymentId);
    return updated ?? (await this.reread(row));
  }

  private async reread(row: DomainRow): Promise<DomainRow> {
    const [now] = await this.ctx.store.db.select().from(domains).where(eq(domains.id, row.id)).limit(1);
    return now ?? row;
  }

  /** Records a route change for every deployment whose hosts `row` changes; returns them, to notify after the commit. */
  private async recordRouteChanges(tx: Tx, row: DomainRow): Promise<string[]> {
    const ids = await affectedDeployments(tx, row);
    for (const id of ids) await recordRouteChange(tx, id);
    return ids;
  }

  /** Changes a custom domain's redirect and HSTS options. */
  async update(principal: Principal, idOrHost: string, patch: DomainOptions): Promise<DomainView> {
    requireRole(principal, ['member']);
    const row = await findDomain(this.ctx.store.db, principal, idOrHost);
    if (row.kind !== 'custom') throw new SlipwayError('invalid_request', 'only custom domains have redirect and HSTS options', { details: { field: 'kind' } });
    const options = this.checkOptions(patch);
    if (Object.keys(options).length === 0) throw new SlipwayError('invalid_request', 'nothing to change: give redirect_to, https_redirect or hsts_max_age');
    let touched: string[] = [];
    const updated = await this.ctx.store.db.transaction(async (tx) => {
      const [done] = await tx.update(domains).set({ ...options, updatedAt: new Date() })
        .where(and(eq(domains.id, row.id), isNull(domains.deletedAt))).returning();
      if (!done) throw domainNotFound(idOrHost);
      await recordEvent(tx, {
        tenantId: done.tenantId, deploymentId: done.deploymentId, type: 'domain.updated', actor: principal.keyId, reason: `changed the options of ${done.hostname}`,
        data: { domain_id: done.id, hostname: done.hostname, redirect_to: done.redirectTo, https_redirect: done.httpsRedirect, hsts_max_age: done.hstsMaxAge },
      });
      if (isServed(done)) touched = await this.recordRouteChanges(tx, done);
      return done;
    });
    for (const id of touched) this.ctx.notifier.emit('route', id);
    return presentDomain(updated);
  }

  /**
   * Releases a host name (soft delete: its row and events stay for the history); anyone may
   * claim it again. Managed hosts and hosts that follow from a tenant base are `domain_not_removable`.
   */
  async remove(principal: Principal, idOrHost: string): Promise<DomainView> {
    requireRole(principal, ['member']);
    const db = this.ctx.store.db;
    let row: DomainRow;
    try {
      row = await findDomain(db, principal, idOrHost);
    } catch (err) {
      if (!idOrHost.startsWith('dom_') && (await isDerivedHost(db, principal, { hostname: idOrHost, baseDomain: this.baseDomain }))) {
        throw new SlipwayError('domain_not_removable', `${idOrHost} is a managed host (or follows from the tenant's base) and cannot be removed`, { details: { hostname: idOrHost } });
      }
      throw err;
    }
    if (row.kind === 'tenant') requireRole(principal, ['admin']);
    let touched: string[] = [];
    let certificates = false;
    const removed = await db.transaction(async (tx) => {
      const now = new Date();
      const [done] = await tx.update(domains).set({ deletedAt: now, updatedAt: now, nextCheckAt: null })
        .where(and(eq(domains.id, row.id), isNull(domains.deletedAt))).returning();
      if (!done) throw domainNotFound(idOrHost);
      ({ certificates } = await afterRelease(tx, [done], { actor: principal.keyId, reason: (d) => `released ${d.hostname}` }));
      if (isServed(done)) touched = await this.recordRouteChanges(tx, done);
      return done;
    });
    for (const id of touched) this.ctx.notifier.emit('route', id);
    if (certificates) await notifyCertificates(this.ctx);
    if (removed.deploymentId) this.ctx.notifier.emit('events', removed.deploymentId);
    return presentDomain(removed);
  }

  /**
   * What a custom host of the caller's tenant served at `at` (deployment and version), from
   * the events; also for a host released since. A host the tenant never claimed is `domain_not_found`.
   */
  async history(principal: Principal, idOrHost: string, at: Date): Promise<HostAtTime> {
    const db = this.ctx.store.db;
    const byId = idOrHost.startsWith('dom_');
    const [row] = await db.select({ hostname: domains.hostname }).from(domains).where(and(
      byId ? eq(domains.id, idOrHost) : eq(domains.hostname, lookupHostname(idOrHost)), eq(domains.tenantId, principal.tenantId),
    )).limit(1);
    if (!row) throw domainNotFound(idOrHost);
    return hostAtTime(db, { tenantId: principal.tenantId, hostname: row.hostname, at });
  }

  /** What the edge serves at `/.well-known/acme-challenge/<token>` on `host` (challenge-answers.ts), or null. */
  answerChallenge(token: string, host: string): Promise<ChallengeAnswer | null> {
    return findChallengeAnswer(this.ctx.store.db, token, host);
  }

  /**
   * Runs the checks that are due, at most {@link CHECKS_PER_PASS}. Each row is claimed just
   * before its own check, by moving its `next_check_at` a lease ahead under `FOR UPDATE SKIP
   * LOCKED`: servers sharing the store never check one domain at the same time, a row waits in
   * no server's batch while others are checked, and one whose server died mid-check is claimed
   * again once the lease is over. Returns how many were checked.
   */
  async checkDue(now = new Date()): Promise<number> {
    // A row checked in this pass is not taken again in it, even when its backoff is already over at `now`.
    const seen: string[] = [];
    while (seen.length < CHECKS_PER_PASS) {
      const row = await this.claimDue(now, seen);
      if (row === undefined) break;
      seen.push(row.id);
      const result = await this.#limit(() => checkOwnership(this.checks, row.hostname, row.verificationToken));
      await this.applyCheck(row, result, 'system');
    }
    return seen.length;
  }

  /** Claims the most overdue pending row not in `exclude` (see {@link checkDue}), or undefined when none is due. */
  async claimDue(now = new Date(), exclude: readonly string[] = []): Promise<DomainRow | undefined> {
    return this.ctx.store.db.transaction(async (tx) => {
      const [due] = await tx.select({ id: domains.id }).from(domains).where(and(
        isNull(domains.deletedAt), eq(domains.state, 'pending_verification'), lte(domains.nextCheckAt, now),
        exclude.length > 0 ? notInArray(domains.id, [...exclude]) : undefined,
      )).orderBy(asc(domains.nextCheckAt)).limit(1).for('update', { skipLocked: true });
      if (due === undefined) return undefined;
      const [row] = await tx.update(domains).set({ nextCheckAt: new Date(now.getTime() + CHECK_LEASE_MS) }).where(eq(domains.id, due.id)).returning();
      return row;
    });
  }
}
