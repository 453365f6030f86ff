/**
 * A small client for the Docker Engine API over its unix socket: just the requests the docker
 * driver makes, on undici (already Slipway's HTTP client), so no Docker SDK is needed. The API
 * version is pinned to 1.41 (Docker 20.10, Debian 12's `docker.io`), which newer engines still
 * serve, so one request shape works on every engine Slipway meets.
 */
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import { SlipwayError, type ErrorCode } from '../../core/errors.js';

/** How long a `json` request may take unless it says otherwise (see {@link EngineRequest.timeoutMs}). */
export const JSON_REQUEST_TIMEOUT_MS = 30_000;

/** The Engine API version every request names. */
export const ENGINE_API_VERSION = 'v1.41';

/** One request to the engine. */
export interface EngineRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  /** Path after the version prefix, e.g. `/containers/create`. */
  path: string;
  /**
   * Query parameters; undefined values are left out, arrays repeat the parameter (`changes`),
   * other objects are sent as JSON (labels, filters).
   */
  query?: Record<string, string | number | boolean | readonly string[] | object | undefined>;
  /** A JSON body (sent as `application/json`). */
  json?: unknown;
  /** A raw body (a tar for `/build` and `/images/load`), sent as `application/x-tar`. */
  tar?: Buffer | Readable;
  /**
   * Abort the whole request after this long. Default: {@link JSON_REQUEST_TIMEOUT_MS} for
   * `json` (a wedged engine must not hold the agent for ever); no limit for `stream` (a build,
   * a followed log, a saved image last as long as they last).
   */
  timeoutMs?: number;
  /** Abort the request when this aborts (a stopping caller), beside the timeout. */
  signal?: AbortSignal;
}

/**
 * What the docker driver needs from an engine. Callers receive this interface, so a test can
 * hand them an engine it started itself and nothing imports undici but this file.
 */
export interface EngineApi {
  /** Sends a request and parses the JSON answer (undefined for an empty one). Non-2xx throws. */
  json<T>(request: EngineRequest): Promise<T>;
  /** Sends a request and returns the answer body as a stream (a build's progress, a saved image). */
  stream(request: EngineRequest): Promise<Readable>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

// 404 is its own code so callers can treat "already gone" as done; an engine that does not
// answer at all is `unavailable`, which says the platform, not the request, is at fault.
function codeFor(statusCode: number): ErrorCode {
  return statusCode === 404 ? 'not_found' : 'internal_error';
}

function buildPath(request: EngineRequest): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value as readonly string[]) params.append(key, item);
    else params.set(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  const query = params.toString();
  return `/${ENGINE_API_VERSION}${request.path}${query === '' ? '' : `?${query}`}`;
}

/**
 * Creates an {@link EngineApi} that talks to the engine listening on `socketPath`;
 * `jsonTimeoutMs` overrides {@link JSON_REQUEST_TIMEOUT_MS}.
 */
export function createEngineApi(socketPath: string, options: { jsonTimeoutMs?: number } = {}): EngineApi {
  const jsonTimeoutMs = options.jsonTimeoutMs ?? JSON_REQUEST_TIMEOUT_MS;
  // A pool, not one Client: a followed stream (events, logs, a build) holds its connection for
  // as long as it lasts, and every other request would queue behind it.
  const client = new Pool('http://docker', { socketPath, bodyTimeout: 0, headersTimeout: 0 });

  async function send(request: EngineRequest): Promise<Readable & { text(): Promise<string> }> {
    const headers: Record<string, string> = {};
    let body: string | Buffer | Readable | undefined;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    } else if (request.tar !== undefined) {
      headers['content-type'] = 'application/x-tar';
      body = request.tar;
    }
    const signals = [request.timeoutMs === undefined ? undefined : AbortSignal.timeout(request.timeoutMs), request.signal]
      .filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length < 2 ? signals[0] : AbortSignal.any(signals);
    const what = `${request.method} ${request.path}`;
    let response;
    try {
      response = await client.request({ method: request.method, path: buildPath(request), headers, body, signal });
    } catch (cause) {
      throw new SlipwayError('unavailable', `the Docker engine at ${socketPath} did not answer ${what}: ${(cause as Error).message}`, {
        cause,
        details: { socketPath, request: what },
      });
    }
    if (response.statusCode >= 200 && response.statusCode < 300) return response.body;
    const text = await response.body.text().catch(() => '');
    let message = text.trim();
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // Not JSON (a proxy's error page): the raw text is the best there is.
    }
    throw new SlipwayError(codeFor(response.statusCode), `Docker engine: ${what} answered ${response.statusCode}: ${message}`, {
      details: { request: what, statusCode: response.statusCode, engineMessage: message },
    });
  }

  return {
    async json<T>(request: EngineRequest): Promise<T> {
      const text = await (await send({ ...request, timeoutMs: request.timeoutMs ?? jsonTimeoutMs })).text();
      return (text.trim() === '' ? undefined : JSON.parse(text)) as T;
    },
    stream: send,
    close: () => client.close(),
  };
}
