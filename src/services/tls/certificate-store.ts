import { and, eq, isNull, sql } from 'drizzle-orm';
import { newId } from '../../core/ids.js';
import { certificateRevision, certificates } from '../../store/schema.js';
import type { Db, Tx } from '../../store/store.js';
import type { SecretBox } from '../secret-box.js';

/** A certificate to store: the chain as PEM (leaf first) and its private key as PEM. */
export interface NewCertificate {
  /** The host name it is for, or a wildcard `*.apps.example.com`; lower-case ASCII. */
  hostname: string;
  tenantId: string | null;
  issuer: 'local_ca' | 'acme';
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
}

/** A live certificate as the edge receives it (the key opened). */
export interface LiveCertificate {
  id: string;
  hostname: string;
  cert_pem: string;
  key_pem: string;
  not_after: string;
}

/** The sealing context of a certificate's key: a sealed key copied to another row does not open. */
export function certificateKeyContext(id: string): string {
  return `certificate:${id}`;
}

/**
 * Stores a certificate and supersedes the live ones for the same host name, in one transaction
 * that also bumps the certificate revision (the edges' stream re-reads on a new revision). The
 * caller emits `certificates` on the notifier after the transaction commits.
 */
export async function saveCertificate(db: Db, secrets: SecretBox, cert: NewCertificate): Promise<{ id: string; revision: number }> {
  const id = newId('crt');
  const now = new Date();
  return db.transaction(async (tx) => {
    // The revision row's lock first: two servers saving for the same host then run one after
    // the other, and the second supersedes the first's row instead of leaving two live ones.
    const revision = await bumpCertificateRevision(tx);
    await tx.update(certificates).set({ supersededAt: now })
      .where(and(eq(certificates.hostname, cert.hostname), isNull(certificates.supersededAt)));
    await tx.insert(certificates).values({
      id, hostname: cert.hostname, tenantId: cert.tenantId, issuer: cert.issuer, certPem: cert.certPem,
      keySealed: secrets.seal(cert.keyPem, certificateKeyContext(id)),
      notBefore: cert.notBefore, notAfter: cert.notAfter, createdAt: now,
    });
    return { id, revision };
  });
}

/**
 * Supersedes every live certificate of `hostname` inside `tx` (a released domain: the next
 * claimant gets a certificate of its own, and edges stop serving this one). Returns whether any
 * was live; the caller emits `certificates` after the commit when it was.
 */
export async function supersedeCertificates(tx: Tx, hostname: string, now = new Date()): Promise<boolean> {
  const gone = await tx.update(certificates).set({ supersededAt: now })
    .where(and(eq(certificates.hostname, hostname), isNull(certificates.supersededAt))).returning({ id: certificates.id });
  if (gone.length === 0) return false;
  await bumpCertificateRevision(tx);
  return true;
}

/** Bumps the certificate revision inside `tx` (under its row lock, so revisions commit in order). */
export async function bumpCertificateRevision(tx: Tx): Promise<number> {
  const [row] = await tx.update(certificateRevision).set({ revision: sql`${certificateRevision.revision} + 1` })
    .where(eq(certificateRevision.id, 1)).returning({ revision: certificateRevision.revision });
  return row!.revision;
}

/** The current certificate revision. */
export async function currentCertificateRevision(db: Db): Promise<number> {
  const [row] = await db.select({ revision: certificateRevision.revision }).from(certificateRevision).where(eq(certificateRevision.id, 1));
  return row?.revision ?? 0;
}

/**
 * Every live (not superseded, not expired) certificate with its key opened, for the edges. A key
 * that does not open under this server's secrets key (sealed by a server started with another
 * key) is left out and passed to `onUnreadable`, so one bad row never empties every edge's table.
 */
export async function liveCertificates(db: Db, secrets: SecretBox, options: LiveOptions = {}): Promise<LiveCertificate[]> {
  const now = options.now ?? new Date();
  const rows = await db.select().from(certificates)
    .where(and(isNull(certificates.supersededAt), sql`${certificates.notAfter} > ${now}`));
  return openRows(rows, secrets, options.onUnreadable);
}

/** Options of {@link liveCertificates} and {@link liveCertificatesFor}. */
export interface LiveOptions {
  /** The clock (tests); default now. */
  now?: Date;
  /** Told of each certificate whose key does not open; default: left out silently. */
  onUnreadable?: (id: string, err: unknown) => void;
}

/** The live certificates of one host name (usually one), keys opened; see {@link liveCertificates}. */
export async function liveCertificatesFor(db: Db, secrets: SecretBox, options: LiveOptions & { hostname: string }): Promise<LiveCertificate[]> {
  const { hostname } = options;
  const now = options.now ?? new Date();
  const rows = await db.select().from(certificates)
    .where(and(eq(certificates.hostname, hostname), isNull(certificates.supersededAt), sql`${certificates.notAfter} > ${now}`));
  return openRows(rows, secrets, options.onUnreadable);
}

function openRows(rows: Array<typeof certificates.$inferSelect>, secrets: SecretBox, onUnreadable?: (id: string, err: unknown) => void): LiveCertificate[] {
  const out: LiveCertificate[] = [];
  for (const r of rows) {
    try {
      out.push({
        id: r.id, hostname: r.hostname, cert_pem: r.certPem,
        key_pem: secrets.open(r.keySealed, certificateKeyContext(r.id)), not_after: r.notAfter.toISOString(),
      });
    } catch (err) {
      onUnreadable?.(r.id, err);
    }
  }
  return out;
}
