import { domainToASCII } from 'node:url';
import { SlipwayError } from './errors.js';

/** Why a host name was refused: `details.reason` of `invalid_hostname`. */
export const HOSTNAME_REASONS = [
  'empty', 'too_long', 'trailing_dot', 'wildcard', 'ip_literal', 'localhost', 'single_label', 'bad_label', 'label_too_long', 'not_idna',
] as const;
export type HostnameReason = (typeof HOSTNAME_REASONS)[number];

/** DNS limits (RFC 1035 §2.3.4): a name of at most 253 characters, written without the root dot. */
export const MAX_HOSTNAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;
const LABEL_RE = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
// The last label of a real name is never all digits (RFC 3696 §2), so `1.2.3.4` or `10.1` is an address.
const NUMERIC_TLD_RE = /\.(?:\d+|0x[0-9a-f]+)$/;

function refuseIpLiteral(name: string, input: string): void {
  if (IPV4_RE.test(name) || NUMERIC_TLD_RE.test(name) || /^\d+$/.test(name)) refuse('ip_literal', input, 'an IP address is not a host name');
}

/**
 * The form a host name is stored and looked up in (lower-case ASCII, Unicode labels as
 * punycode), for finding a claimed name again (`domains verify site Bücher.test`). Nothing is
 * refused: a name IDNA refuses is returned lower-cased, and then simply matches nothing.
 */
export function lookupHostname(input: string): string {
  const lower = input.trim().toLowerCase();
  if (/^[\x00-\x7f]*$/.test(lower)) return lower;
  const ascii = domainToASCII(lower);
  return ascii === '' ? lower : ascii;
}

function refuse(reason: HostnameReason, input: string, message: string): never {
  throw new SlipwayError('invalid_hostname', `"${input.slice(0, 300)}" is not a host name Slipway can serve: ${message}`, { details: { reason, hostname: input.slice(0, 300) } });
}

/**
 * Checks a host name a tenant claims (a custom domain or a tenant base) and returns it as it
 * is stored and matched: lower-case ASCII, Unicode labels as punycode (`bücher.example` →
 * `xn--bcher-kva.example`), no trailing dot. Refuses (`invalid_hostname`, with
 * `details.reason` one of {@link HOSTNAME_REASONS}) IP literals, `localhost` and its
 * subdomains, wildcards (a tenant base is given without `*.`), single labels, a trailing dot
 * (so the stored name is the one form clients send), and names longer than DNS allows.
 * `baseDomain`, the platform's own suffix, and every name under it are `hostname_reserved`:
 * those are the managed hosts, never claimed. A null `baseDomain` reserves nothing (a
 * redirect target may well be a managed host).
 */
export function normalizeHostname(input: string, baseDomain: string | null): string {
  const raw = input.trim();
  if (raw.length === 0) refuse('empty', input, 'it is empty');
  // Checked before IDNA, which would turn a 100 KB string into work before refusing it.
  if (raw.length > MAX_HOSTNAME_LENGTH * 4) refuse('too_long', input, `longer than ${MAX_HOSTNAME_LENGTH} characters`);
  if (raw.startsWith('[') || raw.includes(':')) refuse('ip_literal', input, 'an IP address (or a port) is not a host name');
  if (raw.endsWith('.')) refuse('trailing_dot', input, 'write it without the trailing dot');
  if (raw.includes('*')) refuse('wildcard', input, 'wildcards are not claimed: give a tenant base as `apps.example.com`, without `*.`');
  const lower = raw.toLowerCase();
  refuseIpLiteral(lower, input);
  // domainToASCII lower-cases, maps Unicode labels to punycode and gives '' for what IDNA refuses.
  // ASCII is checked by the label rules below, so a stray space or `_` gets a precise reason.
  const ascii = /^[\x00-\x7f]*$/.test(lower) ? lower : domainToASCII(lower);
  if (ascii === '') refuse('not_idna', input, 'it is not a valid internationalized domain name');
  // IDNA maps full-width digits and ideographic dots (`１２７。０。０。１`) to ASCII ones, and
  // may even answer an address for them: the address checks run again on what it gave.
  if (ascii !== lower) {
    if (ascii.startsWith('[') || ascii.includes(':')) refuse('ip_literal', input, 'an IP address (or a port) is not a host name');
    refuseIpLiteral(ascii, input);
  }
  if (ascii.length > MAX_HOSTNAME_LENGTH) refuse('too_long', input, `longer than ${MAX_HOSTNAME_LENGTH} characters once encoded`);
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length === 0) refuse('bad_label', input, 'it has an empty label (two dots in a row, or a leading dot)');
    if (label.length > MAX_LABEL_LENGTH) refuse('label_too_long', input, `the label "${label.slice(0, 70)}" is longer than ${MAX_LABEL_LENGTH} characters`);
    if (!LABEL_RE.test(label)) refuse('bad_label', input, `the label "${label}" may hold only a-z, 0-9 and "-", and may not start or end with "-"`);
  }
  // A punycode label must decode: `xn--zz` is no name a client can ask for.
  if (labels.some((l) => l.startsWith('xn--')) && domainToASCII(ascii) === '') refuse('not_idna', input, 'a punycode (xn--) label does not decode');
  if (labels.at(-1) === 'localhost') refuse('localhost', input, 'localhost names point at the client itself');
  if (labels.length < 2) refuse('single_label', input, 'a host name needs at least two labels (example.com)');
  if (baseDomain === null) return ascii;
  const base = baseDomain.toLowerCase().replace(/^\.+|\.+$/g, '');
  if (ascii === base || ascii.endsWith(`.${base}`)) {
    throw new SlipwayError('hostname_reserved', `${ascii} is the platform's own domain (${base}) or under it: its hosts are managed, not claimed`, {
      details: { hostname: ascii, base_domain: base },
    });
  }
  return ascii;
}
