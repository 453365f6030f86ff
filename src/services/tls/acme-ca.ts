/**
 * What Slipway uses of an ACME certificate authority (RFC 8555), described locally so the
 * services never import the ACME package: the one implementation is `acme-client-ca.ts`
 * (the maintained `acme-client` package); tests may wrap it to count or fail orders.
 */
export interface AcmeCa {
  /** The directory URL: the account key is stored per directory. */
  readonly directoryUrl: string;
  /** A fresh P-256 private key and a CSR naming `hostname`, both PEM. */
  createKeyAndCsr(hostname: string): Promise<{ keyPem: string; csrPem: string }>;
  /** A new account private key (PEM) to store for this directory. */
  createAccountKey(): Promise<string>;
  /**
   * Places one order for `hostname` with the HTTP-01 challenge and resolves with the issued
   * chain (PEM, leaf first). Rejects with the CA's message when the order fails.
   */
  order(request: AcmeOrderRequest): Promise<string>;
}

/** One order: the account, the host, the CSR, and where the HTTP-01 answer is published. */
export interface AcmeOrderRequest {
  accountKeyPem: string;
  hostname: string;
  csrPem: string;
  /** Makes `keyAuthorization` the answer at `http://<hostname>/.well-known/acme-challenge/<token>`. */
  publishHttp01(token: string, keyAuthorization: string): Promise<void>;
  /** Withdraws the answer once the CA has decided (success or not). */
  removeHttp01(token: string): Promise<void>;
}

/**
 * A DNS provider for DNS-01 (wildcards for tenant bases need one). No provider is built yet:
 * without one, a tenant's hosts get per-host certificates on demand over HTTP-01.
 */
export interface AcmeDnsProvider {
  /** Publishes `value` as the TXT record `_acme-challenge.<hostname>`. */
  setTxt(hostname: string, value: string): Promise<void>;
  /** Removes that record. */
  removeTxt(hostname: string, value: string): Promise<void>;
}

/** A host name to get a certificate for, and what it belongs to. */
export interface IssueTarget {
  hostname: string;
  tenantId: string;
  deploymentId: string | null;
  /** The custom domain row whose `tls_*` columns report the outcome; null for a host under a tenant base. */
  domainId: string | null;
  reason: 'issue' | 'renew' | 'demand';
}
