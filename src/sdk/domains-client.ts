/**
 * The SDK's domain methods (docs/domains.md): custom domains of a deployment, the tenant's
 * bases, ownership verification and host history. Mixed into {@link SlipwayClient} by createClient.
 */
import type { DomainState, TlsState } from '../core/states.js';
import { apiPath, type Transport } from './http-transport.js';
import type { Timestamp } from './types.js';

/** A host a deployment is served at, as the API shows it. */
export interface Domain {
  /** null for the managed host and `<slug>.<tenant base>`, which have no row of their own. */
  id: string | null;
  kind: 'managed' | 'tenant' | 'custom';
  /** Lower-case ASCII (Unicode names are stored as punycode). */
  hostname: string;
  deployment_id: string | null;
  state: DomainState;
  verified_by: 'dns' | 'http' | null;
  verified_at: Timestamp | null;
  /** Why the last check failed: which record was expected and what was found. */
  error: { code: string; message: string } | null;
  next_check_at: Timestamp | null;
  /** When ownership was last checked; a verify within 10 s of it answers that check's result without checking again. */
  last_checked_at: Timestamp | null;
  redirect_to: string | null;
  https_redirect: boolean;
  hsts_max_age: number | null;
  tls_state: TlsState;
  tls_error: string | null;
  removable: boolean;
  created_at: Timestamp | null;
  /** While not verified: create either record. */
  verification: { dns: { type: 'TXT'; name: string; value: string }; http: { url: string; body: string; note: string } } | null;
}

/** A custom domain's options; null clears one. */
export interface DomainOptions {
  /** Redirect (308) every request to this host, same path. */
  redirectTo?: string | null;
  /** Redirect (308) plain HTTP to HTTPS. */
  httpsRedirect?: boolean;
  /** `Strict-Transport-Security: max-age=<n>` on HTTPS answers. */
  hstsMaxAge?: number | null;
}

/** What a host served at a moment. */
export interface HostAtTime {
  hostname: string;
  at: Timestamp;
  domain_id: string | null;
  deployment_id: string | null;
  deployment_slug: string | null;
  version_id: string | null;
  version_number: number | null;
}

/** Domain methods of the client. */
export interface DomainsClient {
  /**
   * Claims a custom host name for a deployment; the answer's `verification` says which DNS
   * TXT record (or HTTP token) proves it. `domain_taken` (409) when another tenant holds it.
   *
   * @example
   * const d = await client.addDomain('my-site', 'www.example.com');
   * console.log(`${d.verification!.dns.name} TXT ${d.verification!.dns.value}`);
   */
  addDomain(deployment: string, hostname: string, options?: DomainOptions): Promise<Domain>;
  /** A deployment's hosts: managed, tenant-base and custom. */
  listDomains(deployment: string): Promise<Domain[]>;
  /** One claimed domain, by id or host name. */
  getDomain(domain: string): Promise<Domain>;
  /** Checks ownership now; a failed check is an answer (`state` stays pending, `error` says what was found). */
  verifyDomain(domain: string): Promise<Domain>;
  /** Changes a custom domain's redirect and HSTS options. */
  updateDomain(domain: string, options: DomainOptions): Promise<Domain>;
  /** Releases a host name; `domain_not_removable` (409) for a managed host. */
  removeDomain(domain: string): Promise<Domain>;
  /** Claims a base for every deployment of the tenant (`<slug>.<base>`); tenant admins. */
  addTenantDomain(hostname: string): Promise<Domain>;
  /** The tenant's bases. */
  listTenantDomains(): Promise<Domain[]>;
  /** Which deployment and version a custom host served at `at` (default now). */
  domainHistory(domain: string, at?: Date | string): Promise<HostAtTime>;
}

const optionsBody = (o: DomainOptions) => ({ redirect_to: o.redirectTo, https_redirect: o.httpsRedirect, hsts_max_age: o.hstsMaxAge });

/** The domain methods over one transport. */
export function domainMethods(http: Transport): DomainsClient {
  const call = async <T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, json?: unknown): Promise<T> =>
    (await http.json<T>({ method, path, ...(json === undefined ? {} : { json }) })).data;
  return {
    addDomain: (deployment, hostname, o = {}) => call<Domain>('POST', apiPath`/deployments/${deployment}/domains`, { hostname, ...optionsBody(o) }),
    listDomains: (deployment) => call<Domain[]>('GET', apiPath`/deployments/${deployment}/domains`),
    getDomain: (domain) => call<Domain>('GET', apiPath`/domains/${domain}`),
    verifyDomain: (domain) => call<Domain>('POST', apiPath`/domains/${domain}/verify`),
    updateDomain: (domain, o) => call<Domain>('PATCH', apiPath`/domains/${domain}`, optionsBody(o)),
    removeDomain: (domain) => call<Domain>('DELETE', apiPath`/domains/${domain}`),
    addTenantDomain: (hostname) => call<Domain>('POST', '/tenant/domains', { hostname }),
    listTenantDomains: () => call<Domain[]>('GET', '/tenant/domains'),
    async domainHistory(domain, at) {
      const query = at === undefined ? {} : { at: at instanceof Date ? at.toISOString() : at };
      return (await http.json<HostAtTime>({ method: 'GET', path: apiPath`/domains/${domain}/history`, query })).data;
    },
  };
}
