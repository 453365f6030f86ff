import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';

/**
 * True when the request came over the edge's HTTPS listener (HTTP/1.1 or HTTP/2 over TLS):
 * what `X-Forwarded-Proto: https`, an HTTP → HTTPS redirect and HSTS decide on. The socket of
 * an HTTP/2 request (node's compat API) is a proxy of the TLS socket, so the same check holds.
 */
export function isTlsRequest(req: IncomingMessage | Http2ServerRequest): boolean {
  return (req.socket as { encrypted?: boolean } | null)?.encrypted === true;
}

/**
 * The scheme to tell an app in `X-Forwarded-Proto`: `https` for a request that came over TLS,
 * else the configured one (`https` when a TLS terminator in front of the edge says so).
 */
export function forwardedProtoOf(req: IncomingMessage, configured: 'http' | 'https'): 'http' | 'https' {
  return configured === 'https' || isTlsRequest(req) ? 'https' : 'http';
}
