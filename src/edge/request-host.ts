import type { IncomingMessage } from 'node:http';
import { MALFORMED_HOST, normalizeHost } from './route-table.js';

/**
 * The host a request is for, from its one `Host` header ({@link normalizeHost}). Two `Host`
 * headers make the request ambiguous (node:http keeps the first, an app behind may read the
 * last), so they count as malformed, like a bad port or an HTTP/1.1 request without one
 * (RFC 9112 §3.2): the edge answers 400 to each.
 */
export function requestHost(req: IncomingMessage): string | null | typeof MALFORMED_HOST {
  if (req.httpVersionMajor === 2) return http2Host(req);
  const raw = req.rawHeaders;
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue;
    if (seen) return MALFORMED_HOST;
    seen = true;
  }
  if (!seen) return req.httpVersion === '1.1' ? MALFORMED_HOST : null;
  return normalizeHost(req.headers.host);
}

/**
 * HTTP/2 names the host in `:authority`; a `host` header, if sent too, must name the same one
 * (RFC 9113 §8.3.1). One that does not is malformed: routing on one and forwarding the other
 * would let a client reach one tenant's app while that app reads another host's name.
 */
function http2Host(req: IncomingMessage): string | null | typeof MALFORMED_HOST {
  const raw = req.rawHeaders;
  let authority: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === ':authority') authority = raw[i + 1];
    else if (name === 'host') {
      if (host !== undefined) return MALFORMED_HOST;
      host = raw[i + 1];
    }
  }
  if (authority === undefined) return normalizeHost(host);
  const named = normalizeHost(authority);
  if (host !== undefined && normalizeHost(host) !== named) return MALFORMED_HOST;
  return named;
}
