import { eq, isNull } from 'drizzle-orm';
import { acmeAccounts, certificates, localCa } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import { supersedeCertificates } from './certificate-store.js';

/** The key id a sealed value names (secret-box.ts: `sw1.<key id>.…`). */
function keyIdOf(sealed: string): string | undefined {
  return /^sw1\.([0-9a-f]+)\./.exec(sealed)?.[1];
}

/**
 * The secrets keys the TLS private keys in the store are sealed under: the local CA's, the ACME
 * accounts' and the live certificates' (a superseded one is never opened again). Part of the
 * start-up check (server/secrets-key.ts): a server with another key would lose its CA and its
 * ACME account, and every edge the certificates it serves.
 */
export async function storedTlsKeyIds(db: Db): Promise<string[]> {
  const ids = new Set<string>();
  const add = (sealed: string) => {
    const id = keyIdOf(sealed);
    if (id) ids.add(id);
  };
  for (const r of await db.select({ k: localCa.keySealed }).from(localCa)) add(r.k);
  for (const r of await db.select({ k: acmeAccounts.keySealed }).from(acmeAccounts)) add(r.k);
  for (const r of await db.select({ k: certificates.keySealed }).from(certificates).where(isNull(certificates.supersededAt))) add(r.k);
  return [...ids].sort();
}

/**
 * The way out when the secrets key is lost, for TLS keys: deletes the local CA and the ACME
 * accounts sealed under another key than `keyId` (both are made afresh: a new CA to trust, a
 * new account to register) and supersedes the live certificates whose key no longer opens (the
 * edges stop serving them; hosts get new ones on demand or at the next check). Returns how many
 * went. It runs at start-up, before anything listens: the certificate revision it moves is what
 * tells edges already running to re-read.
 */
export async function discardTlsKeysNotSealedBy(db: Db, keyId: string): Promise<{ keys: number; certificates: number }> {
  const foreign = (sealed: string) => !sealed.startsWith(`sw1.${keyId}.`);
  let keys = 0;
  let superseded = 0;
  await db.transaction(async (tx) => {
    for (const r of await tx.select({ id: localCa.id, k: localCa.keySealed }).from(localCa)) {
      if (!foreign(r.k)) continue;
      await tx.delete(localCa).where(eq(localCa.id, r.id));
      keys++;
    }
    for (const r of await tx.select({ url: acmeAccounts.directoryUrl, k: acmeAccounts.keySealed }).from(acmeAccounts)) {
      if (!foreign(r.k)) continue;
      await tx.delete(acmeAccounts).where(eq(acmeAccounts.directoryUrl, r.url));
      keys++;
    }
    const hosts = new Set<string>();
    for (const r of await tx.select({ host: certificates.hostname, k: certificates.keySealed }).from(certificates).where(isNull(certificates.supersededAt))) {
      if (foreign(r.k)) hosts.add(r.host);
    }
    for (const host of hosts) {
      if (await supersedeCertificates(tx, host)) superseded++;
    }
  });
  return { keys, certificates: superseded };
}
