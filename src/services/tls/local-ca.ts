import { and, eq, isNull, sql } from 'drizzle-orm';
import { certificates, localCa } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import { createCa, issueServerCertificate, type SigningCa } from '../../util/x509-issue.js';
import type { ServiceContext } from '../context.js';
import type { SecretBox } from '../secret-box.js';
import { saveCertificate, type LiveCertificate } from './certificate-store.js';

/** The local CA lives ten years: a browser or `curl --cacert` trusts it once. */
export const LOCAL_CA_DAYS = 3650;
/** Certificates it issues live 90 days (as ACME's do) and are renewed at two thirds of that. */
export const LOCAL_CERTIFICATE_DAYS = 90;

const KEY_CONTEXT = 'local-ca';

/** The local CA's certificate and key. */
export interface LocalCa extends SigningCa {
  name: string;
}

/**
 * The CA's name: after the base domain, the operator's own (it is in every certificate's
 * issuer a visitor may inspect, so it never names the platform).
 */
export function localCaName(baseDomain: string): string {
  return `${baseDomain} local CA`;
}

/**
 * The local CA, made by the first server that asks (P-256, ten years) and stored with its key
 * sealed, so every server sharing the store issues from the same one. Two servers starting at
 * once both try to insert; the loser reads the winner's.
 */
export async function ensureLocalCa(db: Db, secrets: SecretBox, baseDomain: string): Promise<LocalCa> {
  const read = async () => (await db.select().from(localCa).where(eq(localCa.id, 1)))[0];
  let row = await read();
  if (row === undefined) {
    const name = localCaName(baseDomain);
    // Constrained to the base domain: the operator trusts it for the platform's own hosts only.
    const made = await createCa(name, LOCAL_CA_DAYS, baseDomain);
    await db.insert(localCa).values({
      id: 1, name, certPem: made.certPem, keySealed: secrets.seal(made.keyPem, KEY_CONTEXT), notAfter: made.notAfter, createdAt: new Date(),
    }).onConflictDoNothing();
    row = await read();
  }
  if (row === undefined) throw new Error('the local CA row vanished right after it was written');
  return { name: row.name, certPem: row.certPem, keyPem: secrets.open(row.keySealed, KEY_CONTEXT) };
}

/**
 * Issues a certificate for `hostnames` (the first names it; a wildcard allowed) from the local
 * CA, stores it (superseding the live one for the same first name) and tells the edges. Also
 * what issues for a verified custom domain when no ACME is configured.
 */
export async function issueLocalCertificate(
  ctx: ServiceContext,
  request: { hostnames: readonly string[]; tenantId: string | null },
): Promise<LiveCertificate> {
  const ca = await ensureLocalCa(ctx.store.db, ctx.secrets, ctx.config.baseDomain);
  const issued = await issueServerCertificate(ca, request.hostnames, LOCAL_CERTIFICATE_DAYS);
  const hostname = request.hostnames[0]!;
  const { id, revision } = await saveCertificate(ctx.store.db, ctx.secrets, {
    hostname, tenantId: request.tenantId, issuer: 'local_ca', certPem: issued.certPem, keyPem: issued.keyPem,
    notBefore: issued.notBefore, notAfter: issued.notAfter,
  });
  ctx.notifier.emit('certificates', String(revision));
  return { id, hostname, cert_pem: issued.certPem, key_pem: issued.keyPem, not_after: issued.notAfter.toISOString() };
}

/** Live local-CA certificates past two thirds of their life (or expired), by host name. */
export async function dueLocalCertificates(db: Db, now = new Date()): Promise<Array<{ hostname: string; tenantId: string | null }>> {
  return db.select({ hostname: certificates.hostname, tenantId: certificates.tenantId }).from(certificates).where(and(
    isNull(certificates.supersededAt), eq(certificates.issuer, 'local_ca'),
    sql`${certificates.notBefore} + (${certificates.notAfter} - ${certificates.notBefore}) * 2 / 3 <= ${now}`,
  ));
}

/** Whether a live certificate of any issuer exists for exactly `hostname`. */
export async function hasLiveCertificate(db: Db, hostname: string, now = new Date()): Promise<boolean> {
  const rows = await db.select({ id: certificates.id }).from(certificates)
    .where(and(eq(certificates.hostname, hostname), isNull(certificates.supersededAt), sql`${certificates.notAfter} > ${now}`)).limit(1);
  return rows.length > 0;
}
