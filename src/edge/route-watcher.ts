import { SlipwayError } from '../core/errors.js';
import type { RouteMessage } from '../core/routes.js';
import { parseSse } from '../core/sse.js';
import type { EdgeLogger } from './logger.js';
import { parseRouteMessage } from './route-message.js';

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
  const url = `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/routes?watch=true${edgeQuery}`;
  const min = config.backoffMs?.min ?? 200;
  const max = config.backoffMs?.max ?? 5_000;
  const idleMs = config.idleTimeoutMs ?? 90_000;
  let closed = false;
  let connected = false;
  let abort = new AbortController();
  let wake: () => void = () => {};
  let delay = min;

  const follow = async (signal: AbortSignal): Promise<void> => {
    let idle: NodeJS.Timeout | undefined;
    // Armed before the request too: a server that accepts and never answers is also silence.
    const touch = () => {
      if (idleMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(new SlipwayError('unavailable', 'route stream idle')), idleMs);
    };
    touch();
    try {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${config.token}`, accept: 'text/event-stream' },
        signal,
      });
      if (res.status !== 200 || res.body === null) {
        await res.body?.cancel();
        throw new SlipwayError('unavailable', `route stream answered ${res.status}`, { details: { status: res.status } });
      }
      // Every chunk counts as life, heartbeat comments included, which never become messages.
      const body = res.body;
      const chunks = (async function* () {
        for await (const chunk of body) {
          touch();
          yield chunk;
        }
      })();
      for await (const event of parseSse(chunks)) {
        const message = parseRouteMessage(event.data);
        if (event.event !== message.type && event.event !== 'message') {
          throw new SlipwayError('invalid_request', 'route message type differs from its SSE event', {
            details: { event: event.event, type: message.type },
          });
        }
        config.onMessage(message);
        if (message.type === 'snapshot') {
          connected = true;
          delay = min;
        }
      }
    } finally {
      clearTimeout(idle);
    }
  };

  const loop = async () => {
    while (!closed) {
      abort = new AbortController();
      try {
        await follow(abort.signal);
        if (!closed) config.logger.info({}, 'route stream ended; reconnecting');
      } catch (err) {
        if (!closed) config.logger.warn({ err, retryInMs: delay }, 'route stream failed; reconnecting');
      }
      connected = false;
      if (closed) break;
      // ±20% jitter so a fleet of edges does not reconnect in lockstep after a server restart.
      const wait = delay * (0.8 + Math.random() * 0.4);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => (clearTimeout(timer), resolve());
      });
      delay = Math.min(delay * 2, max);
    }
  };
  const running = loop();

  return {
    get connected() {
      return connected;
    },
    async close() {
      closed = true;
      abort.abort();
      wake();
      await running;
    },
  };
}
