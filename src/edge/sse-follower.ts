import { SlipwayError } from '../core/errors.js';
import { parseSse, type SseMessage } from '../core/sse.js';
import type { EdgeLogger } from './logger.js';

/** Options for {@link followSseStream}. */
export interface SseFollowerConfig {
  /** The whole URL of the stream. */
  url: string;
  /** An internal API key; sent as a Bearer token, never logged. */
  token: string;
  logger: EdgeLogger;
  /** What the stream is, for log lines and errors (`route stream`). */
  name: string;
  /** Reconnect delay: starts at `min`, doubles per failure up to `max`. Default 200 ms → 5 s. */
  backoffMs?: { min: number; max: number };
  /**
   * Reconnects when the stream is silent this long (default 90 s; 0 disables), so a half-open
   * connection cannot leave the edge on stale state forever. Every chunk counts as life, the
   * server's heartbeat comments included.
   */
  idleTimeoutMs?: number;
  /**
   * Each event, in stream order. Returning true resets the reconnect backoff (a whole state
   * arrived); throwing ends the stream, which then reconnects like any failure.
   */
  onEvent(event: SseMessage): boolean | void;
  /** Called each time a stream ends or fails, before the wait to reconnect. */
  onDisconnect?(): void;
}

/**
 * Follows a Server-Sent Events stream of the server's internal API for as long as it is not
 * closed. The stream ending, failing, answering non-200 or an `onEvent` that throws all lead to
 * the same thing: a logged line and a reconnect after a jittered backoff. Nothing here throws
 * into the edge. Shared by the route and certificate watchers.
 */
export function followSseStream(config: SseFollowerConfig): { close(): Promise<void> } {
  const min = config.backoffMs?.min ?? 200;
  const max = config.backoffMs?.max ?? 5_000;
  const idleMs = config.idleTimeoutMs ?? 90_000;
  let closed = false;
  let abort = new AbortController();
  let wake: () => void = () => {};
  let delay = min;

  const follow = async (signal: AbortSignal): Promise<void> => {
    let idle: NodeJS.Timeout | undefined;
    // Armed before the request too: a server that accepts and never answers is also silence.
    const touch = () => {
      if (idleMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(new SlipwayError('unavailable', `${config.name} idle`)), idleMs);
    };
    touch();
    try {
      const res = await fetch(config.url, { headers: { authorization: `Bearer ${config.token}`, accept: 'text/event-stream' }, signal });
      if (res.status !== 200 || res.body === null) {
        await res.body?.cancel();
        throw new SlipwayError('unavailable', `${config.name} answered ${res.status}`, { details: { status: res.status } });
      }
      const body = res.body;
      const chunks = (async function* () {
        for await (const chunk of body) {
          touch();
          yield chunk;
        }
      })();
      for await (const event of parseSse(chunks)) {
        if (config.onEvent(event) === true) delay = min;
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
        if (!closed) config.logger.info({}, `${config.name} ended; reconnecting`);
      } catch (err) {
        if (!closed) config.logger.warn({ err, retryInMs: delay }, `${config.name} failed; reconnecting`);
      }
      config.onDisconnect?.();
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
    async close() {
      closed = true;
      abort.abort();
      wake();
      await running;
    },
  };
}
