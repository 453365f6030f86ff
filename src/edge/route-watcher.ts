import { SlipwayError } from '../core/errors.js';
import type { RouteMessage } from '../core/routes.js';
import type { EdgeLogger } from './logger.js';
import { parseRouteMessage } from './route-message.js';
import { followSseStream } from './sse-follower.js';

/** Options for {@link startRouteWatcher}. */
export interface RouteWatcherConfig {
  serverUrl: string;
  /** An internal API key; sent as a Bearer token, never logged. */
  token: string;
  logger: EdgeLogger;
  /** Called for each valid message, in stream order. */
  onMessage(message: RouteMessage): void;
  /** Reconnect delay: starts at `min`, doubles per failure up to `max`. Default 200 ms → 5 s. */
  backoffMs?: { min: number; max: number };
  /**
   * Reconnects when the stream is silent this long (default 90 s; 0 disables), so a half-open
   * connection cannot leave the edge on stale routes forever. The server should send an SSE
   * comment as heartbeat well within it; without one the edge just reconnects and takes a
   * fresh snapshot, which is harmless.
   */
  idleTimeoutMs?: number;
  /** Names this edge's stream, so its acknowledgements (revision-ack.ts) can be matched. */
  edgeId?: string;
}

/** A running watch-stream client. */
export interface RouteWatcher {
  /** True while a stream is open and has delivered its snapshot. */
  readonly connected: boolean;
  /** Closes the stream and stops reconnecting. */
  close(): Promise<void>;
}

/**
 * Follows `GET {serverUrl}/api/v1/internal/routes?watch=true` (SSE) and hands each message
 * to `onMessage`. The stream ending, failing, answering non-200 or sending a malformed message
 * all lead to the same thing: a logged warning and a reconnect after a backoff (reset once a
 * snapshot arrives). Nothing here throws into the edge.
 */
export function startRouteWatcher(config: RouteWatcherConfig): RouteWatcher {
  const edgeQuery = config.edgeId ? `&edge_id=${encodeURIComponent(config.edgeId)}` : '';
  let connected = false;
  const stream = followSseStream({
    url: `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/routes?watch=true${edgeQuery}`,
    token: config.token,
    logger: config.logger,
    name: 'route stream',
    backoffMs: config.backoffMs,
    idleTimeoutMs: config.idleTimeoutMs,
    onEvent(event) {
      const message = parseRouteMessage(event.data);
      if (event.event !== message.type && event.event !== 'message') {
        throw new SlipwayError('invalid_request', 'route message type differs from its SSE event', {
          details: { event: event.event, type: message.type },
        });
      }
      config.onMessage(message);
      if (message.type !== 'snapshot') return false;
      connected = true;
      return true;
    },
    onDisconnect() {
      connected = false;
    },
  });
  return {
    get connected() {
      return connected;
    },
    close: () => stream.close(),
  };
}
