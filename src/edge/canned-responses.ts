import { STATUS_CODES, type ServerResponse } from 'node:http';

/** A fixed response with its headers computed once at start-up. */
export interface CannedResponse {
  readonly status: number;
  readonly headers: string[];
  readonly body: Buffer;
}

/** A fixed response: `text` with the headers every answer of the edge's own carries, and `extra`. */
export function canned(status: number, text: string, extra: { contentType?: string; headers?: string[] } = {}): CannedResponse {
  const body = Buffer.from(text);
  return {
    status,
    body,
    headers: [
      'Content-Type', extra.contentType ?? 'text/plain; charset=utf-8',
      'Content-Length', String(body.length),
      // Answers that are not a release's content must never be cached: the host or file may
      // exist a moment later.
      'Cache-Control', 'no-store',
      'X-Content-Type-Options', 'nosniff',
      ...(extra.headers ?? []),
    ],
  };
}

const HTML = 'text/html; charset=utf-8';
const page = (title: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body><h1>${title}</h1></body></html>\n`;

/**
 * The neutral 404: the same bytes for an unknown host, an unknown path and a deployment with
 * nothing active, so it reveals nothing about what exists.
 */
export const NOT_FOUND = canned(404, page('404 Not Found'), { contentType: HTML });
/** A request target that cannot be decoded safely. */
export const BAD_REQUEST = canned(400, 'Bad Request\n');
/** Static content only answers GET and HEAD. */
export const METHOD_NOT_ALLOWED = canned(405, 'Method Not Allowed\n', { headers: ['Allow', 'GET, HEAD'] });
/** A preview whose release could not be loaded right now (the control plane is away). */
export const UNAVAILABLE = canned(503, page('503 Service Unavailable'), {
  contentType: HTML,
  headers: ['Retry-After', '5'],
});
/** A dynamic release with no healthy instance right now (one is usually a moment away). */
export const NO_UPSTREAM = canned(503, page('503 Service Unavailable'), {
  contentType: HTML,
  headers: ['Retry-After', '1'],
});
/**
 * A host the edge does not know yet while its table is not the server's (a restart): it may
 * be a live deployment, so never the 404 (`routes-loaded.ts`).
 */
export const ROUTES_LOADING = canned(503, page('503 Service Unavailable'), {
  contentType: HTML,
  headers: ['Retry-After', '1'],
});
/** The upstream refused, reset or answered garbage before sending a response. */
export const BAD_GATEWAY = canned(502, page('502 Bad Gateway'), { contentType: HTML });
/** The upstream did not send response headers in time. */
export const GATEWAY_TIMEOUT = canned(504, page('504 Gateway Timeout'), { contentType: HTML });
/** `GET /_slipway/health`. */
export const HEALTH_OK = canned(200, 'ok');

/** Sends a canned response; HEAD gets the same headers and no body. */
export function sendCanned(res: ServerResponse, isHead: boolean, response: CannedResponse): void {
  res.writeHead(response.status, response.headers);
  if (isHead) res.end();
  else res.end(response.body);
}

/**
 * A canned response as raw bytes ending the connection, for a socket node:http has handed
 * over (a refused WebSocket upgrade), where no ServerResponse exists.
 */
export function cannedBytes(response: CannedResponse): Buffer {
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\nConnection: close\r\n`;
  for (let i = 0; i < response.headers.length; i += 2) head += `${response.headers[i]}: ${response.headers[i + 1]}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`), response.body]);
}
