import pg from 'pg';
import type { StoreChannel, StoreChannelHandlers } from '../store.js';

/** Delays before reopening a dropped listening connection; the last one repeats. */
const RECONNECT_DELAYS_MS = [50, 200, 1000, 5000];

/**
 * A listening connection only receives, so a peer that vanished without closing the socket
 * (a dropped NAT entry, a partitioned network) would never show: every this often a `SELECT 1`
 * must answer within {@link HEARTBEAT_TIMEOUT_MS}, or the connection counts as lost.
 */
export const HEARTBEAT_INTERVAL_MS = 30_000;
/** How long the heartbeat query may take before the listening connection counts as lost. */
export const HEARTBEAT_TIMEOUT_MS = 10_000;

/** How the listening connections show in `pg_stat_activity` (and can be told apart there). */
export const LISTEN_APPLICATION_NAME = 'slipway-listen';

/** Heartbeat timing of {@link createPostgresChannel}; the defaults suit production. */
export interface PostgresChannelOptions {
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
}

/**
 * `LISTEN/NOTIFY` over a shared pool (for NOTIFY) and one dedicated client per listened channel:
 * a pooled connection cannot listen, because the pool hands it to other queries.
 */
export function createPostgresChannel(pool: pg.Pool, url: string, options: PostgresChannelOptions = {}): StoreChannel {
  const timing = { interval: options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS, timeout: options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS };
  return {
    notify: async (channel, payload) => {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    listen: (channel, handlers) => listenOn({ url, channel, timing }, handlers),
  };
}

async function listenOn(
  { url, channel, timing }: { url: string; channel: string; timing: { interval: number; timeout: number } },
  handlers: StoreChannelHandlers,
): Promise<() => Promise<void>> {
  let client: pg.Client | undefined;
  let stopped = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;

  const open = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: url, application_name: LISTEN_APPLICATION_NAME,
      // TCP keepalive finds a dead peer without traffic of our own; the heartbeat below also
      // covers what keepalive cannot (a backend that hangs, a proxy that answers for it).
      keepAlive: true, keepAliveInitialDelayMillis: 10_000,
    });
    // Until it listens, a failure is reported by connect() or query() rejecting.
    c.on('error', () => undefined);
    try {
      await c.connect();
      c.on('notification', (n) => {
        if (n.channel === channel) handlers.onMessage(n.payload ?? '');
      });
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    c.removeAllListeners('error');
    // A dropped connection emits `error` (terminated backend) and/or `end` (closed socket).
    const lost = (err?: Error) => {
      if (client !== c) return;
      client = undefined;
      c.end().catch(() => undefined);
      if (stopped) return;
      handlers.onError(err ?? new Error('the listening connection closed'));
      scheduleReopen();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    heartbeat(c, lost);
  };

  const heartbeat = (c: pg.Client, lost: (err?: Error) => void) => {
    const timer = setInterval(() => {
      if (client !== c) {
        clearInterval(timer);
        return;
      }
      let timeout: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timeout = setTimeout(() => reject(new Error(`the listening connection did not answer within ${timing.timeout} ms`)), timing.timeout);
        timeout.unref();
      });
      Promise.race([c.query('SELECT 1'), late]).then(() => clearTimeout(timeout), (err: unknown) => {
        clearTimeout(timeout);
        clearInterval(timer);
        lost(err instanceof Error ? err : new Error(String(err)));
      });
    }, timing.interval);
    timer.unref();
  };

  const scheduleReopen = () => {
    const delay = RECONNECT_DELAYS_MS[Math.min(failures, RECONNECT_DELAYS_MS.length - 1)]!;
    failures++;
    retryTimer = setTimeout(() => {
      open().then(() => {
        failures = 0;
        if (!stopped) handlers.onReconnect();
      }, (err: unknown) => {
        if (stopped) return;
        handlers.onError(err instanceof Error ? err : new Error(String(err)));
        scheduleReopen();
      });
    }, delay);
    retryTimer.unref();
  };

  await open();
  return async () => {
    stopped = true;
    clearTimeout(retryTimer);
    const c = client;
    client = undefined;
    await c?.end().catch(() => undefined);
  };
}
