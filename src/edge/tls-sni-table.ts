import { createSecureContext, type SecureContext } from 'node:tls';

/** A certificate as the edge holds it: the chain and key as PEM, for one host or a wildcard. */
export interface EdgeCertificate {
  id: string;
  /** Lower-case; `*.apps.example.com` for a wildcard. */
  hostname: string;
  cert_pem: string;
  key_pem: string;
  not_after: string;
}

interface Entry {
  certificate: EdgeCertificate;
  context: SecureContext;
}

/**
 * The edge's certificates by host name, as `tls.SecureContext`s made once when a certificate
 * arrives (never per handshake). {@link find} is what the SNI callback runs: the exact name,
 * then the wildcard one level up (`*.<parent>`, as RFC 6125 allows a wildcard to match), then
 * nothing, with two map lookups and no allocation kept: nothing is stored for a name that is
 * not found, so a flood of distinct SNI names costs no memory. Replacing the table is one
 * reference swap; a handshake already past its callback keeps the context it got, so open
 * connections keep their certificate and the next handshake gets the new one.
 */
export class SniTable {
  #byHost = new Map<string, Entry>();

  /** The certificates served now. */
  get certificates(): EdgeCertificate[] {
    return Array.from(this.#byHost.values(), (e) => e.certificate);
  }

  /**
   * Serves exactly `certificates` from now on (one per host name: the one that expires last
   * wins). Contexts of certificates already held are reused. A certificate whose PEM does not
   * load is left out and reported through `onInvalid`, so one bad row never stops the others.
   */
  replace(certificates: readonly EdgeCertificate[], onInvalid?: (certificate: EdgeCertificate, err: unknown) => void): void {
    const held = new Map<string, Entry>();
    for (const entry of this.#byHost.values()) held.set(entry.certificate.id, entry);
    const next = new Map<string, Entry>();
    for (const certificate of certificates) {
      const hostname = certificate.hostname.toLowerCase();
      const current = next.get(hostname);
      if (current !== undefined && current.certificate.not_after >= certificate.not_after) continue;
      const entry = held.get(certificate.id) ?? load(certificate, onInvalid);
      if (entry !== null) next.set(hostname, entry);
    }
    this.#byHost = next;
  }

  /** Adds or replaces the certificate of one host name; false when its PEM does not load. */
  set(certificate: EdgeCertificate, onInvalid?: (certificate: EdgeCertificate, err: unknown) => void): boolean {
    const entry = load(certificate, onInvalid);
    if (entry === null) return false;
    const next = new Map(this.#byHost);
    next.set(certificate.hostname.toLowerCase(), entry);
    this.#byHost = next;
    return true;
  }

  /** The context for an SNI name: exact, then `*.<parent>`; undefined when neither is held. */
  find(servername: string): SecureContext | undefined {
    const name = servername.toLowerCase();
    const byHost = this.#byHost;
    const exact = byHost.get(name);
    if (exact !== undefined) return exact.context;
    const dot = name.indexOf('.');
    // A wildcard covers exactly one label, and never a bare TLD's children (`*.com`).
    if (dot <= 0 || name.indexOf('.', dot + 1) === -1) return undefined;
    return byHost.get(`*${name.slice(dot)}`)?.context;
  }

  /** True when {@link find} finds something for `servername`. */
  has(servername: string): boolean {
    return this.find(servername) !== undefined;
  }
}

function load(certificate: EdgeCertificate, onInvalid?: (certificate: EdgeCertificate, err: unknown) => void): Entry | null {
  try {
    return { certificate, context: createSecureContext({ cert: certificate.cert_pem, key: certificate.key_pem }) };
  } catch (err) {
    onInvalid?.(certificate, err);
    return null;
  }
}
