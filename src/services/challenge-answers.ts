import type { Db } from '../store/store.js';
import { findAcmeChallengeAnswer } from './tls/acme-challenges.js';

/** What the edge serves at a challenge path: the body of a 200 `text/plain`. */
export interface ChallengeAnswer {
  body: string;
}

/** Challenge tokens are short and URL-safe (ACME's are base64url); anything else is no token. */
export const CHALLENGE_TOKEN_RE = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The answer to `/.well-known/acme-challenge/<token>` on `host` (the key authorization of an
 * open ACME order's HTTP-01 challenge), or null (the edge answers 404). Token and host must
 * both match, so a token answers nothing on another host. Domain ownership tokens
 * (`/.well-known/slipway-challenge/`) are never answered here: a host that already points at
 * the edge would then prove nothing but that, which any tenant could claim (docs/domains.md).
 */
export async function findChallengeAnswer(db: Db, token: string, host: string): Promise<ChallengeAnswer | null> {
  if (!CHALLENGE_TOKEN_RE.test(token)) return null;
  const keyAuthorization = await findAcmeChallengeAnswer(db, token, host.toLowerCase());
  return keyAuthorization === null ? null : { body: keyAuthorization };
}
