import { checkDnsToken, challengeRecordName, type DomainResolver } from './verify-dns.js';
import { beforeDeadline, checkHttpToken, httpChallengeUrl } from './verify-http.js';

/** How ownership checks reach the world. */
export interface OwnershipCheckConfig {
  resolver: DomainResolver;
  /** Port of the HTTP token check: 80, or SLIPWAY_DOMAIN_HTTP_CHECK_PORT. */
  httpPort: number;
  /**
   * Let the HTTP check connect to loopback and private addresses
   * (SLIPWAY_DOMAIN_HTTP_CHECK_ALLOW_PRIVATE=1: tests and private networks); default false.
   */
  allowPrivate?: boolean;
  /** The whole check (DNS and HTTP) ends within this long; default {@link OWNERSHIP_CHECK_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** One check, DNS and HTTP together, never takes longer than this: a claimed row's lease (domain-service.ts) outlasts it. */
export const OWNERSHIP_CHECK_TIMEOUT_MS = 10_000;

/** Passed (and how), or a message naming both records that were expected and what was found. */
export type OwnershipResult = { ok: true; by: 'dns' | 'http' } | { ok: false; message: string };

/**
 * Tries the DNS TXT record first (it needs nothing served), then the HTTP token, both within
 * one deadline. A failure says what each check expected and found, so the owner sees which
 * record is missing or wrong.
 */
export async function checkOwnership(config: OwnershipCheckConfig, hostname: string, token: string): Promise<OwnershipResult> {
  const deadline = Date.now() + (config.timeoutMs ?? OWNERSHIP_CHECK_TIMEOUT_MS);
  const dns = await beforeDeadline(checkDnsToken(config.resolver, hostname, token), deadline, { ok: false, found: 'no answer in time' } as const);
  if (dns.ok) return { ok: true, by: 'dns' };
  const http = await checkHttpToken({ resolver: config.resolver, hostname, token, port: config.httpPort, deadline, allowPrivate: config.allowPrivate });
  if (http.ok) return { ok: true, by: 'http' };
  return {
    ok: false,
    message: `expected TXT ${challengeRecordName(hostname)} = "${token}", found: ${dns.found}; `
      + `or ${httpChallengeUrl(hostname, token)} answering 200 "${token}", found: ${http.found}`,
  };
}

/** After the n-th failed check (1-based), the next one waits this long: 10 s, 30 s, 1 min, 5 min, 15 min, then hourly. */
const BACKOFF_MS = [10_000, 30_000, 60_000, 300_000, 900_000, 3_600_000];

/** Delay before the check that follows `attempts` failed ones. */
export function nextCheckDelayMs(attempts: number): number {
  return BACKOFF_MS[Math.min(Math.max(attempts, 1), BACKOFF_MS.length) - 1]!;
}

/** A domain not verified this long after it was added goes to `error` (`verification_expired`); `verify` can still retry it. */
export const VERIFICATION_WINDOW_MS = 72 * 3600_000;
