import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import { deployments, tenants, versions } from '../../store/schema.js';
import { DEFAULT_TENANT_SLUG } from '../bootstrap.js';
import type { ServiceContext } from '../context.js';
import { currentCertificateRevision, liveCertificatesFor, supersedeCertificates, type LiveCertificate } from './certificate-store.js';
import { dueLocalCertificates, ensureLocalCa, hasLiveCertificate, issueLocalCertificate } from './local-ca.js';

/** How often live local-CA certificates are checked for renewal. */
const RENEW_CHECK_MS = 60 * 60 * 1000;
/** `v<N>--<label>`: a version's preview host (route-table.ts). */
const PREVIEW_RE = /^v([1-9][0-9]{0,9})--(.+)$/;

/**
 * The embedded TLS issuer, used while no ACME is configured: the local CA (local-ca.ts), its
 * certificate written to a file for `curl --cacert` and browsers, a wildcard `*.<base domain>`
 * for managed hosts where a wildcard works (a base of two labels or more: no client accepts
 * `*.localhost`), a certificate per host on an edge's request for hosts a wildcard cannot
 * cover, and renewal at two thirds of each certificate's life.
 */
export class LocalCaService {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ServiceContext) {}

  /** Makes (or loads) the CA, writes its certificate to `caFile` and starts the renewal checks. */
  async start(options: { caFile: string }): Promise<void> {
    const ca = await ensureLocalCa(this.ctx.store.db, this.ctx.secrets, this.ctx.config.baseDomain);
    await mkdir(dirname(options.caFile), { recursive: true, mode: 0o700 });
    await writeFile(options.caFile, ca.certPem, { mode: 0o644 });
    await chmod(options.caFile, 0o644);
    await this.check();
    this.timer = setInterval(() => {
      this.running = this.check().catch((err: unknown) => this.ctx.logger.warn({ err }, 'local CA renewal check failed'));
    }, RENEW_CHECK_MS).unref();
  }

  /** Stops the renewal checks (waits for one under way). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * Issues the managed wildcard when missing, and renews every due local-CA certificate whose
   * host is still served (the wildcard, or a managed host of a live deployment and, for a
   * preview, of a version not collected). One no longer served is superseded instead: a deleted
   * deployment's hosts and collected versions' previews are not renewed forever.
   */
  async check(): Promise<void> {
    const base = this.ctx.config.baseDomain;
    const db = this.ctx.store.db;
    const wildcard = `*.${base}`;
    if (base.includes('.') && !(await hasLiveCertificate(db, wildcard))) {
      await issueLocalCertificate(this.ctx, { hostnames: [wildcard, base], tenantId: null });
    }
    for (const due of await dueLocalCertificates(db)) {
      if (due.hostname === wildcard) {
        await issueLocalCertificate(this.ctx, { hostnames: [wildcard, base], tenantId: null });
      } else {
        const tenantId = await this.managedHostTenant(due.hostname);
        if (tenantId === undefined) {
          await this.retire(due.hostname);
          continue;
        }
        await issueLocalCertificate(this.ctx, { hostnames: [due.hostname], tenantId });
      }
      this.ctx.logger.info({ hostname: due.hostname }, 'renewed a local CA certificate');
    }
  }

  /**
   * An edge met `hostname` in a handshake and has no certificate for it: the live one when
   * there is one (another edge asked first), else a new one from the local CA, but only for a
   * managed host of a live deployment (`<label>.<base>` or `v<N>--<label>.<base>`). Anything
   * else is null: no certificate is made for a name nobody claimed.
   */
  async onDemand(hostname: string): Promise<LiveCertificate | null> {
    const host = hostname.toLowerCase();
    const tenantId = await this.managedHostTenant(host);
    if (tenantId === undefined) return null;
    const [live] = await liveCertificatesFor(this.ctx.store.db, this.ctx.secrets, { hostname: host });
    if (live !== undefined) return live;
    return issueLocalCertificate(this.ctx, { hostnames: [host], tenantId });
  }

  /** Supersedes the certificates of a host no longer served, and tells the edges. */
  private async retire(hostname: string): Promise<void> {
    const gone = await this.ctx.store.db.transaction((tx) => supersedeCertificates(tx, hostname));
    if (gone) this.ctx.notifier.emit('certificates', String(await currentCertificateRevision(this.ctx.store.db)));
    this.ctx.logger.info({ hostname }, 'a local CA certificate is not renewed: its host is no longer served');
  }

  /**
   * The tenant of the live deployment `host` is a managed host of (for a preview host, of a
   * version whose release is not collected); undefined when none.
   */
  private async managedHostTenant(host: string): Promise<string | undefined> {
    const suffix = `.${this.ctx.config.baseDomain}`;
    if (!host.endsWith(suffix)) return undefined;
    let label = host.slice(0, -suffix.length);
    if (label.includes('.')) return undefined;
    const preview = PREVIEW_RE.exec(label);
    label = preview?.[2] ?? label;
    const split = label.indexOf('--');
    const slug = split === -1 ? label : label.slice(0, split);
    const tenantSlug = split === -1 ? DEFAULT_TENANT_SLUG : label.slice(split + 2);
    // A managed label names a non-default tenant explicitly and the default one never.
    if (split !== -1 && tenantSlug === DEFAULT_TENANT_SLUG) return undefined;
    const [row] = await this.ctx.store.db.select({ id: deployments.id, tenantId: deployments.tenantId }).from(deployments)
      .innerJoin(tenants, eq(tenants.id, deployments.tenantId))
      .where(and(eq(deployments.slug, slug), eq(tenants.slug, tenantSlug), isNull(deployments.deletedAt), isNull(tenants.deletedAt)))
      .limit(1);
    if (row === undefined || preview === null) return row?.tenantId;
    const [version] = await this.ctx.store.db.select({ id: versions.id }).from(versions)
      .where(and(eq(versions.deploymentId, row.id), eq(versions.versionNumber, Number(preview[1])), eq(versions.state, 'ready'), isNull(versions.artifactCollectedAt)))
      .limit(1);
    return version === undefined ? undefined : row.tenantId;
  }
}
