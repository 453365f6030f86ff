import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { SlipwayError } from '../../core/errors.js';

/** The DNS lookups verification needs: a local interface, so tests and callers can pass their own. */
export interface DomainResolver {
  resolveTxt(name: string): Promise<string[][]>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

/** Each lookup gives up after this long per try, with this many tries: a check must not hang. */
const DNS_TIMEOUT_MS = 2_000;
const DNS_TRIES = 2;

/**
 * Parses SLIPWAY_DNS_SERVERS: comma-separated `ip` or `ip:port` (`[v6]:port` for IPv6 with a
 * port). Empty or unset: undefined (the system's resolvers).
 */
export function parseDnsServers(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map((server) => {
    const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
    const v4 = /^([^:]+)(?::(\d{1,5}))?$/.exec(server);
    const ip = v6?.[1] ?? (v4 ? v4[1] : server);
    const port = v6?.[2] ?? v4?.[2];
    if (!ip || isIP(ip) === 0 || (port !== undefined && (Number(port) < 1 || Number(port) > 65535))) {
      throw new SlipwayError('invalid_request', `SLIPWAY_DNS_SERVERS must be comma-separated ip[:port] values, not "${server}"`, { details: { field: 'SLIPWAY_DNS_SERVERS' } });
    }
    return server;
  });
}

/** A resolver asking `servers` (`ip[:port]`), or the system's resolvers when none are given. */
export function createDomainResolver(servers?: readonly string[]): DomainResolver {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (servers !== undefined && servers.length > 0) resolver.setServers([...servers]);
  return resolver;
}

/** The record a domain's owner creates to prove it: `_slipway-challenge.<host>` TXT `<token>`. */
export function challengeRecordName(hostname: string): string {
  return `_slipway-challenge.${hostname}`;
}

/** The outcome of one check: passed, or what was expected and what was found instead. */
export type CheckResult = { ok: true } | { ok: false; found: string };

/** Codes of "this name has nothing (of that type)", which are a finding, not a failure to look. */
const ABSENT = new Set(['ENODATA', 'ENOTFOUND', 'NXDOMAIN']);

/**
 * Looks up the TXT record of `_slipway-challenge.<hostname>`; passes when one of its values
 * (its strings joined, as RFC 7208 does for long values) is the token.
 */
export async function checkDnsToken(resolver: DomainResolver, hostname: string, token: string): Promise<CheckResult> {
  let records: string[][];
  try {
    records = await resolver.resolveTxt(challengeRecordName(hostname));
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    return { ok: false, found: ABSENT.has(code) ? 'none' : `no answer (${code})` };
  }
  const values = records.map((chunks) => chunks.join(''));
  if (values.includes(token)) return { ok: true };
  if (values.length === 0) return { ok: false, found: 'none' };
  // Bounded: a name with hundreds of records must not make a huge error message.
  const shown = values.slice(0, 5).map((v) => JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}…` : v));
  return { ok: false, found: shown.join(', ') + (values.length > 5 ? ` and ${values.length - 5} more` : '') };
}
