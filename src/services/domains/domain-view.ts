import type { domains } from '../../store/schema.js';
import { challengeRecordName } from './verify-dns.js';
import { httpChallengeUrl } from './verify-http.js';

export type DomainRow = typeof domains.$inferSelect;

/** What the owner creates to prove a host name is theirs; either one is enough. */
export interface VerificationInstructions {
  dns: { type: 'TXT'; name: string; value: string };
  /** `note`: served by the owner's own current web server; the edge never answers it. */
  http: { url: string; body: string; note: string };
}

/** A domain as the API shows it. Managed hosts and the hosts a tenant base gives have no row: their `id` is null. */
export interface DomainView {
  id: string | null;
  /** `managed` (`<slug>.<base>`), `tenant` (a tenant base, or `<slug>.<tenant base>` in a deployment's list), `custom`. */
  kind: 'managed' | 'tenant' | 'custom';
  hostname: string;
  deployment_id: string | null;
  state: 'pending_verification' | 'verified' | 'active' | 'error';
  verified_by: 'dns' | 'http' | null;
  verified_at: string | null;
  error: { code: string; message: string } | null;
  next_check_at: string | null;
  /** When ownership was last checked; a verify within 10 s of it answers that result without checking again. */
  last_checked_at: string | null;
  redirect_to: string | null;
  https_redirect: boolean;
  hsts_max_age: number | null;
  tls_state: 'none' | 'issuing' | 'issued' | 'error';
  tls_error: string | null;
  /** False for managed hosts and hosts that follow from a tenant base (remove the base instead). */
  removable: boolean;
  created_at: string | null;
  /** While not verified: the records to create. */
  verification: VerificationInstructions | null;
}

/**
 * Why the HTTP token is the owner's to serve: an edge answering it would "verify" any host that
 * already resolves to the edge (a dangling record), for whoever claims it first.
 */
export const HTTP_TOKEN_NOTE = 'serve this from your own current web server, before pointing the host at Slipway; '
  + 'a host that already resolves to Slipway can only be verified by the DNS TXT record';

/** The records that prove `hostname` with `token`. */
export function verificationFor(hostname: string, token: string): VerificationInstructions {
  return {
    dns: { type: 'TXT', name: challengeRecordName(hostname), value: token },
    http: { url: httpChallengeUrl(hostname, token), body: token, note: HTTP_TOKEN_NOTE },
  };
}

/** A claimed domain's view. */
export function presentDomain(row: DomainRow): DomainView {
  const verified = row.state === 'verified' || row.state === 'active';
  return {
    id: row.id,
    kind: row.kind,
    hostname: row.hostname,
    deployment_id: row.deploymentId,
    state: row.state,
    verified_by: row.verifiedBy ?? null,
    verified_at: row.verifiedAt?.toISOString() ?? null,
    error: row.errorCode === null ? null : { code: row.errorCode, message: row.errorMessage ?? '' },
    next_check_at: row.nextCheckAt?.toISOString() ?? null,
    last_checked_at: row.lastCheckedAt?.toISOString() ?? null,
    redirect_to: row.redirectTo,
    https_redirect: row.httpsRedirect,
    hsts_max_age: row.hstsMaxAge,
    tls_state: row.tlsState,
    tls_error: row.tlsError,
    removable: true,
    created_at: row.createdAt.toISOString(),
    verification: verified ? null : verificationFor(row.hostname, row.verificationToken),
  };
}

/** A host with no row of its own (managed, or `<slug>.<tenant base>`): always served while its deployment lives. */
export function presentDerivedHost(host: { kind: 'managed' | 'tenant'; hostname: string; deploymentId: string; base?: DomainRow }): DomainView {
  const { kind, hostname, deploymentId, base } = host;
  return {
    id: null, kind, hostname, deployment_id: deploymentId, state: base?.state ?? 'active', verified_by: null,
    verified_at: base?.verifiedAt?.toISOString() ?? null, error: null, next_check_at: null, last_checked_at: null, redirect_to: null, https_redirect: false,
    hsts_max_age: null, tls_state: base?.tlsState ?? 'none', tls_error: null, removable: false, created_at: null, verification: null,
  };
}
