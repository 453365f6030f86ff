import { eq } from 'drizzle-orm';
import { acmeAccounts } from '../../store/schema.js';
import type { Db } from '../../store/store.js';
import type { SecretBox } from '../secret-box.js';
import type { AcmeCa } from './acme-ca.js';

/** The sealing context of an account key: a sealed key copied to another directory's row does not open. */
function accountKeyContext(directoryUrl: string): string {
  return `acme-account:${directoryUrl}`;
}

/**
 * The account key for the CA's directory: made once, stored sealed, shared by every server on
 * the store. Two servers making it at the same moment both read back the one that was stored first.
 */
export async function acmeAccountKey(db: Db, secrets: SecretBox, ca: AcmeCa): Promise<string> {
  const read = async () => {
    const [row] = await db.select().from(acmeAccounts).where(eq(acmeAccounts.directoryUrl, ca.directoryUrl));
    return row ? secrets.open(row.keySealed, accountKeyContext(ca.directoryUrl)) : undefined;
  };
  const existing = await read();
  if (existing) return existing;
  const key = await ca.createAccountKey();
  await db.insert(acmeAccounts)
    .values({ directoryUrl: ca.directoryUrl, keySealed: secrets.seal(key, accountKeyContext(ca.directoryUrl)), createdAt: new Date() })
    .onConflictDoNothing();
  return (await read())!;
}
