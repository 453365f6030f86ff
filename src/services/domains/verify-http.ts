import { request } from 'node:http';
import { isPublicAddress } from './public-address.js';
import type { CheckResult, DomainResolver } from './verify-dns.js';

/** Where the HTTP token is served on the domain: `http://<host>/.well-known/slipway-challenge/<token>`. */
export const HTTP_CHALLENGE_PREFIX = '/.well-known/slipway-challenge/';

/** Only a token is expected: more than this is not it, and is not read. */
const MAX_BODY_BYTES = 1024;

/** Options of {@link checkHttpToken}. */
export interface HttpCheckOptions {
  resolver: DomainResolver;
  hostname: string;
  token: string;
  /** Port to connect to: 80, or SLIPWAY_DOMAIN_HTTP_CHECK_PORT (tests). */
  port: number;
  /** When the check gives up (epoch ms): the lookup, the connection and the answer all end by then. */
  deadline: number;
  /** Connect to loopback and private addresses too (SLIPWAY_DOMAIN_HTTP_CHECK_ALLOW_PRIVATE: tests, private networks). */
  allowPrivate?: boolean;
}

/** The URL the owner serves the token at (port 80, as a CA would ask). */
export function httpChallengeUrl(hostname: string, token: string): string {
  return `http://${hostname}${HTTP_CHALLENGE_PREFIX}${token}`;
}

/** `work`'s result, or `late` once `deadline` (epoch ms) has passed. */
export async function beforeDeadline<T>(work: Promise<T>, deadline: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => { timer = setTimeout(() => resolve(late), Math.max(0, deadline - Date.now())); });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * GETs the token URL from an address the host name resolves to (through the same resolver as
 * the DNS check, so both see the same DNS), with the host name as `Host`. Passes on a 200
 * whose body, without surrounding white space, is the token. A name that resolves to any
 * non-public address is refused before connecting (the claimant chooses the address: it must
 * not make the server probe its own network), unless `allowPrivate`. What the address answered
 * is reported only as `HTTP <status>` (no `Location`, no body, no error code), redirects are not
 * followed, the body is read up to 1 KiB, and everything ends by `deadline`.
 */
export async function checkHttpToken(options: HttpCheckOptions): Promise<CheckResult> {
  const { resolver, hostname, token, port, deadline } = options;
  const addresses = await beforeDeadline(lookup(resolver, hostname), deadline, null);
  if (addresses === null) return { ok: false, found: 'no answer in time' };
  if (addresses.length === 0) return { ok: false, found: `${hostname} has no A or AAAA record` };
  if (options.allowPrivate !== true && !addresses.every(isPublicAddress)) return { ok: false, found: 'the host resolves to a non-public address' };
  const address = addresses[0]!;
  return new Promise<CheckResult>((resolve) => {
    const req = request({
      host: address, port, path: `${HTTP_CHALLENGE_PREFIX}${token}`, method: 'GET', agent: false,
      headers: { host: port === 80 ? hostname : `${hostname}:${port}`, 'user-agent': 'domain-verification', accept: 'text/plain' },
    }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.destroy();
        return resolve({ ok: false, found: `HTTP ${status}` });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.destroy();
          return resolve({ ok: false, found: `a body longer than ${MAX_BODY_BYTES} bytes` });
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8').trim();
        // The body is not echoed: the address may be anyone's, and its answer is not the claimant's to read.
        resolve(body === token ? { ok: true } : { ok: false, found: `HTTP 200 with another body (${size} bytes)` });
      });
      res.on('error', () => resolve({ ok: false, found: 'a broken answer' }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve({ ok: false, found: 'no answer in time' });
    }, Math.max(1, deadline - Date.now()));
    req.on('close', () => clearTimeout(timer));
    req.on('error', () => resolve({ ok: false, found: 'could not connect' }));
    req.end();
  });
}

async function lookup(resolver: DomainResolver, hostname: string): Promise<string[]> {
  const v4 = await resolver.resolve4(hostname).catch(() => [] as string[]);
  if (v4.length > 0) return v4;
  return resolver.resolve6(hostname).catch(() => [] as string[]);
}
