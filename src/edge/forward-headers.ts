import type { IncomingMessage } from 'node:http';

/** What the edge tells upstreams about the original request. */
export interface ForwardOptions {
  /** `X-Forwarded-Proto`: the scheme the client used to reach the edge. */
  proto: 'http' | 'https';
  /**
   * For a WebSocket handshake: keep `Connection: Upgrade` and the `Upgrade` header, which are
   * hop-by-hop but are the very request being forwarded.
   */
  upgrade?: boolean;
}

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), and so are never
 * forwarded. `expect` is dropped too: node:http has already answered `100 Continue` to the
 * client, and undici refuses to send it.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);
/**
 * Set by the edge alone, or not at all: the edge is where requests enter, so a client's own
 * values (an address, a scheme, a host it did not connect with) must not pass for the edge's.
 * `X-Real-IP` and RFC 7239 `Forwarded` are the same claims in other spellings.
 */
function isReplaced(lower: string): boolean {
  return lower.startsWith('x-forwarded-') || lower === 'forwarded' || lower === 'x-real-ip';
}

function isHopByHop(lower: string): boolean {
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-');
}

/**
 * The request headers to send upstream, as a flat `[name, value, …]` list in the client's
 * order and spelling: hop-by-hop headers (and any the `Connection` header names) and the
 * client's own forwarding claims removed, the original `Host` kept once (the edge has refused
 * requests with two; over HTTP/2 it is `:authority`), HTTP/2's split `cookie` fields joined
 * into one, and `X-Forwarded-For` (the client's address as the edge saw it),
 * `X-Forwarded-Proto` and `X-Forwarded-Host` added.
 */
export function forwardRequestHeaders(req: IncomingMessage, options: ForwardOptions): string[] {
  const raw = req.rawHeaders;
  const out: string[] = [];
  let host: string | undefined;
  let connection: string | undefined;
  let upgrade: string | undefined;
  let authority: string | undefined;
  let cookie: string | undefined;
  const h2 = req.httpVersionMajor === 2;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'host') {
      // undici refuses a second Host, and a request with two is ambiguous anyway.
      host ??= value;
    } else if (h2 && lower === 'cookie') {
      // HTTP/2 may split Cookie into one field per pair; an HTTP/1.1 app expects one line
      // (RFC 9113 §8.2.3: joined with "; ").
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
    } else if (lower.charCodeAt(0) === 0x3a) {
      // HTTP/2 pseudo-headers: `:authority` is the Host an HTTP/1.1 upstream expects.
      if (lower === ':authority') authority = value;
    } else if (lower === 'connection') {
      connection = connection === undefined ? value : `${connection}, ${value}`;
    } else if (lower === 'upgrade') {
      upgrade = value;
    } else if (!isHopByHop(lower) && !isReplaced(lower)) {
      out.push(name, value);
    }
  }
  const named = connection === undefined ? null : connectionTokens(connection);
  const kept = named === null ? out : dropNamed(out, named);
  // HTTP/2 routes on `:authority` (request-host.ts refuses a `host` naming another host), so
  // the app hears that one; a `host` header is only ever a fallback when there is none.
  if (h2) host = authority ?? host;
  if (cookie !== undefined) kept.push('Cookie', cookie);
  if (host !== undefined) kept.unshift('Host', host);
  if (options.upgrade === true && upgrade !== undefined) kept.push('Connection', 'Upgrade', 'Upgrade', upgrade);
  kept.push('X-Forwarded-For', req.socket.remoteAddress ?? 'unknown', 'X-Forwarded-Proto', options.proto);
  if (host !== undefined) kept.push('X-Forwarded-Host', host);
  return kept;
}

/**
 * The upstream's response headers for the client (undici's raw `[name, value, …]` list) with
 * hop-by-hop ones removed; node:http adds its own framing and keep-alive headers.
 */
export function forwardResponseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'connection') connection = raw[i + 1];
    else if (!isHopByHop(lower)) out.push(name, raw[i + 1] as string);
  }
  const named = connection === undefined ? null : connectionTokens(connection);
  return named === null ? out : dropNamed(out, named);
}

/** Header names listed in `Connection` beyond the usual options; null when there are none. */
function connectionTokens(value: string): Set<string> | null {
  // The usual values, first: this runs for nearly every keep-alive response.
  if (value.length <= 10 && /^(?:keep-alive|close|upgrade)$/i.test(value)) return null;
  let named: Set<string> | null = null;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive' || name === 'upgrade') continue;
    (named ??= new Set()).add(name);
  }
  return named;
}

function dropNamed(headers: string[], named: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!named.has((headers[i] as string).toLowerCase())) out.push(headers[i] as string, headers[i + 1] as string);
  }
  return out;
}
