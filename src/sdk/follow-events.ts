import { SlipwayApiError } from './api-error.js';
import type { ErrorCode } from '../core/errors.js';
import { parseSse } from '../core/sse.js';
import type { SlipwayEvent } from './types.js';

/**
 * Turns an events answer into events. A `text/event-stream` answer is parsed as it arrives;
 * each message's `data` is one event's JSON, and a message carrying `{"error": …}` (the server
 * failing mid-stream) is thrown as a {@link SlipwayApiError}. A plain JSON answer (a server
 * that ignored `follow`) yields its events oldest first. Abort ends the iteration quietly.
 */
export async function* readEventStream(response: Response, signal?: AbortSignal): AsyncGenerator<SlipwayEvent> {
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.includes('text/event-stream')) {
    const envelope = (await response.json()) as { data?: SlipwayEvent[] };
    yield* [...(envelope.data ?? [])].reverse();
    return;
  }
  if (!response.body) return;
  try {
    for await (const message of parseSse(response.body)) {
      const payload = parseJson(message.data);
      if (!payload) continue;
      if (isWireError(payload.error)) {
        const wire = payload.error;
        throw new SlipwayApiError(wire.code as ErrorCode, wire.message ?? wire.code, {
          status: response.status,
          details: wire.details ?? {},
          requestId: wire.request_id ?? null,
        });
      }
      // Keep-alives and other non-event messages carry no event id: skip them.
      if (typeof payload.id === 'string' && typeof payload.type === 'string') yield payload as unknown as SlipwayEvent;
    }
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
}

interface WireError {
  code: string;
  message?: string;
  details?: Record<string, unknown>;
  request_id?: string;
}

function isWireError(value: unknown): value is WireError {
  return typeof value === 'object' && value !== null && typeof (value as WireError).code === 'string';
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
