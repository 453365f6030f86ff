import { SlipwayError, type ErrorCode } from '../core/errors.js';

/** Options for {@link SlipwayApiError}. */
export interface SlipwayApiErrorOptions {
  /** HTTP status of the answer; 0 when no answer arrived (network failure). */
  status: number;
  details?: Record<string, unknown>;
  /** The server's `request_id`, which finds the request in the server log. */
  requestId?: string | null;
  cause?: unknown;
}

/**
 * An error answered by the Slipway API, rebuilt from the wire envelope
 * `{"error": {code, message, details, request_id}}` so callers branch on the same stable `code`
 * the server sent. It is a {@link SlipwayError}, so `isSlipwayError(err, 'version_not_found')`
 * works on both sides of the wire.
 *
 * @example
 * try {
 *   await client.getDeployment('my-site');
 * } catch (err) {
 *   if (err instanceof SlipwayApiError && err.code === 'deployment_not_found') {
 *     await client.createDeployment({ slug: 'my-site' });
 *   } else throw err;
 * }
 */
export class SlipwayApiError extends SlipwayError {
  readonly status: number;
  readonly requestId: string | null;

  constructor(code: ErrorCode, message: string, options: SlipwayApiErrorOptions) {
    super(code, message, { details: options.details, cause: options.cause });
    this.name = 'SlipwayApiError';
    this.status = options.status;
    this.requestId = options.requestId ?? null;
  }

  /** The wire form of this error, as the API would send it inside `{"error": …}`. */
  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown>; request_id: string | null } {
    return { code: this.code, message: this.message, details: this.details, request_id: this.requestId };
  }
}

/** True when `err` is a {@link SlipwayApiError}, optionally with the given code. */
export function isSlipwayApiError(err: unknown, code?: ErrorCode): err is SlipwayApiError {
  return err instanceof SlipwayApiError && (code === undefined || err.code === code);
}

// Used when the body is not our envelope (a proxy's HTML page, an empty 502): the status is
// all we know, so pick the code a client would act on the same way.
function codeForStatus(status: number): ErrorCode {
  if (status === 400) return 'invalid_request';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 502 || status === 503 || status === 504) return 'unavailable';
  return 'internal_error';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Rebuilds the typed error from a non-2xx answer. Codes this SDK does not know yet are kept
 * as sent (a newer server may add codes); only a missing code falls back to the status.
 */
export async function errorFromResponse(response: Response): Promise<SlipwayApiError> {
  const text = await response.text().catch(() => '');
  const headerRequestId = response.headers.get('x-request-id');
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    envelope = undefined;
  }
  const wire = isRecord(envelope) && isRecord(envelope.error) ? envelope.error : undefined;
  if (wire && typeof wire.code === 'string') {
    return new SlipwayApiError(wire.code as ErrorCode, typeof wire.message === 'string' ? wire.message : wire.code, {
      status: response.status,
      details: isRecord(wire.details) ? wire.details : {},
      requestId: typeof wire.request_id === 'string' ? wire.request_id : headerRequestId,
    });
  }
  const snippet = text.trim().slice(0, 200);
  const reason = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new SlipwayApiError(codeForStatus(response.status), snippet ? `${reason}: ${snippet}` : reason, {
    status: response.status,
    requestId: headerRequestId,
  });
}

/** The error for a request that got no answer at all (refused, reset, DNS, TLS). */
export function networkError(err: unknown, baseUrl: string): SlipwayApiError {
  const reason = err instanceof Error ? describeCause(err) : String(err);
  return new SlipwayApiError('unavailable', `cannot reach the Slipway API at ${baseUrl}: ${reason}`, {
    status: 0,
    cause: err,
  });
}

// undici reports "fetch failed" and hides the useful part (ECONNREFUSED…) in `cause`.
function describeCause(err: Error): string {
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code} (${cause.message})` : cause.message;
  }
  return err.message;
}
