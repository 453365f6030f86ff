import { and, eq, gt } from 'drizzle-orm';
import { acmeChallenges } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/**
 * The key authorization of an open ACME HTTP-01 challenge for `host` (written by
 * acme-issuer.ts while its order runs), or null: unknown token, another host, or expired.
 */
export async function findAcmeChallengeAnswer(db: Db, token: string, host: string): Promise<string | null> {
  const now = new Date();
  const [row] = await db.select({ keyAuthorization: acmeChallenges.keyAuthorization }).from(acmeChallenges)
    .where(and(eq(acmeChallenges.token, token), eq(acmeChallenges.hostname, host.toLowerCase()), gt(acmeChallenges.expiresAt, now)));
  return row?.keyAuthorization ?? null;
}
