import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import * as acme from 'acme-client';
import type { AcmeCa, AcmeOrderRequest } from './acme-ca.js';

/** Options for {@link createAcmeClientCa}. */
export interface AcmeClientCaOptions {
  directoryUrl: string;
  /** Contact address of the account; optional for most CAs. */
  email?: string;
  /** An extra root (PEM) to trust for the directory's HTTPS, besides the system's (pebble's in tests). */
  extraCaPem?: string;
  /** Polling of challenge and order status: first and longest wait (ms), and how many polls. */
  poll?: { minMs: number; maxMs: number; attempts: number };
}

/**
 * The {@link AcmeCa} over the `acme-client` package. Its HTTP client is one shared axios
 * instance, so the extra root is set on it for the whole process: one ACME configuration per
 * server process, which is how the server uses it.
 */
export function createAcmeClientCa(options: AcmeClientCaOptions): AcmeCa {
  if (options.extraCaPem) {
    acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, options.extraCaPem], keepAlive: true });
  }
  // acme-client retries 5xx and 429 answers up to 5 times itself, 5 s apart by default; the
  // scheduler's own backoff is the retry that matters, so a failing CA fails one order fast.
  (acme.axios.defaults as { acmeSettings?: { retryMaxAttempts: number } }).acmeSettings!.retryMaxAttempts = 2;
  const poll = options.poll ?? { minMs: 250, maxMs: 5000, attempts: 12 };
  // One client per account key: the account URL it learns is reused by every order.
  const clients = new Map<string, Promise<acme.Client>>();
  const clientFor = (accountKeyPem: string) => {
    let client = clients.get(accountKeyPem);
    if (!client) {
      client = (async () => {
        const c = new acme.Client({
          directoryUrl: options.directoryUrl, accountKey: accountKeyPem,
          backoffMin: poll.minMs, backoffMax: poll.maxMs, backoffAttempts: poll.attempts,
        });
        // Idempotent: with a key the CA knows, it answers the existing account.
        await c.createAccount({ termsOfServiceAgreed: true, ...(options.email ? { contact: [`mailto:${options.email}`] } : {}) });
        return c;
      })();
      client.catch(() => clients.delete(accountKeyPem));
      clients.set(accountKeyPem, client);
    }
    return client;
  };
  return {
    directoryUrl: options.directoryUrl,
    async createAccountKey() {
      return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
    },
    async createKeyAndCsr(hostname) {
      const [key, csr] = await acme.crypto.createCsr({ altNames: [hostname] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
      return { keyPem: key.toString(), csrPem: csr.toString() };
    },
    async order(request: AcmeOrderRequest) {
      const client = await clientFor(request.accountKeyPem);
      const order = await client.createOrder({ identifiers: [{ type: 'dns', value: request.hostname }] });
      for (const authz of await client.getAuthorizations(order)) {
        if (authz.status === 'valid') continue;
        const challenge = authz.challenges.find((c) => c.type === 'http-01');
        if (!challenge) throw new Error(`the CA offered no http-01 challenge for ${authz.identifier.value}`);
        await request.publishHttp01(challenge.token, await client.getChallengeKeyAuthorization(challenge));
        try {
          await client.completeChallenge(challenge);
          await client.waitForValidStatus(challenge);
        } finally {
          await request.removeHttp01(challenge.token);
        }
      }
      const finalized = await client.finalizeOrder(order, request.csrPem);
      return client.getCertificate(finalized);
    },
  };
}
