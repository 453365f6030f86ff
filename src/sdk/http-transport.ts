import { errorFromResponse, networkError, SlipwayApiError } from './api-error.js';

/** What {@link createTransport} needs: where the API is, the key, and the fetch to use. */
export interface TransportConfig {
  /** The server's origin (`http://127.0.0.1:7070`); a trailing `/api/v1` is accepted too. */
  baseUrl: string;
  token: string;
  fetch: typeof fetch;
  userAgent: string;
}

/** One API call, described before it is sent. */
export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path below `/api/v1`, already encoded; build it with {@link apiPath}. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** A JSON body; sets `Content-Type: application/json`. */
  json?: unknown;
  /** A raw body (archives); the caller sets `Content-Type`. */
  body?: RequestInit['body'];
  /** False only for the unauthenticated endpoints (`healthz`). */
  auth?: boolean;
  signal?: AbortSignal;
}

/** The success envelope: `{"data": …}`, plus `next_cursor` on lists. */
export interface Envelope<T> {
  data: T;
  next_cursor?: string | null;
}

/** Sends requests and turns every failure into a {@link SlipwayApiError}. */
export interface Transport {
  readonly baseUrl: string;
  /** Sends the request; resolves only for a 2xx answer. */
  send(spec: RequestSpec): Promise<Response>;
  /** Sends the request and unwraps the JSON envelope. */
  json<T>(spec: RequestSpec): Promise<Envelope<T>>;
}

/**
 * Builds a path whose interpolated parts are URL-encoded, so a slug or id can never change the
 * route it addresses.
 */
export function apiPath(strings: TemplateStringsArray, ...parts: Array<string | number>): string {
  return strings.reduce((out, s, i) => out + s + (i < parts.length ? encodeURIComponent(String(parts[i])) : ''), '');
}

/** Creates the transport the client's methods share. */
export function createTransport(config: TransportConfig): Transport {
  const origin = config.baseUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const send = async (spec: RequestSpec): Promise<Response> => {
    const url = new URL(`${origin}/api/v1${spec.path}`);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': config.userAgent };
    if (spec.auth !== false) headers.authorization = `Bearer ${config.token}`;
    let body = spec.body;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    }
    Object.assign(headers, spec.headers);
    const init: RequestInit & { duplex?: 'half' } = { method: spec.method, headers, body, signal: spec.signal };
    // Node's fetch refuses a streamed body unless the request is declared half-duplex.
    if (body !== undefined && body !== null && isStreamBody(body)) init.duplex = 'half';
    let response: Response;
    try {
      response = await config.fetch(url, init);
    } catch (err) {
      if (spec.signal?.aborted) throw err;
      throw networkError(err, origin);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  };
  return {
    baseUrl: origin,
    send,
    async json<T>(spec: RequestSpec): Promise<Envelope<T>> {
      const response = await send(spec);
      const text = await response.text();
      try {
        const parsed = JSON.parse(text) as unknown;
        if (typeof parsed === 'object' && parsed !== null && 'data' in parsed) return parsed as Envelope<T>;
      } catch {
        // fall through: the same error covers bad JSON and JSON without `data`
      }
      throw new SlipwayApiError('internal_error', `unexpected answer from ${spec.method} ${spec.path}: ${text.slice(0, 200)}`, {
        status: response.status,
        requestId: response.headers.get('x-request-id'),
      });
    },
  };
}

function isStreamBody(body: NonNullable<RequestInit['body']>): boolean {
  if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer) return false;
  return typeof (body as { getReader?: unknown }).getReader === 'function' || Symbol.asyncIterator in body;
}
