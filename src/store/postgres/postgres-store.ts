import pg from 'pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { schema } from '../schema.js';
import type { Db, Store } from '../store.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { createPostgresChannel } from './postgres-channel.js';

/** Options for {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:pass@host:port/db` */
  url: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Told when an idle pooled connection fails (the pool has already dropped it). */
  onIdleError?: (err: Error) => void;
}

/**
 * The cluster store: a PostgreSQL server shared by any number of Slipway servers. Locks are
 * session advisory locks held on a dedicated pooled connection for the duration of `fn`.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
  // Without a listener, an idle connection that dies (a database restart, an administrator
  // terminating it) is an uncaught error that ends the process. The pool discards the broken
  // client itself and the next query opens a new one, so reporting it is enough.
  pool.on('error', (err) => options.onIdleError?.(err));
  // Fail fast on a wrong URL instead of on the first request.
  const probe = await pool.connect();
  probe.release();
  const db = drizzle(pool, { schema }) as unknown as Db;
  const mutex = new KeyedMutex();
  return {
    db,
    capabilities: { supportsMultipleConnections: true },
    exec: async (sql) => {
      await pool.query(sql);
    },
    // The in-process mutex first, so one server's waiters queue in memory in arrival order
    // instead of each holding a pooled connection while blocked in pg_advisory_lock.
    withLock: (key, fn) =>
      mutex.run(key, async () => {
        const client = await pool.connect();
        try {
          await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [key]);
          try {
            return await fn();
          } finally {
            await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
          }
        } finally {
          client.release();
        }
      }),
    channel: createPostgresChannel(pool, options.url),
    close: () => pool.end(),
  };
}
