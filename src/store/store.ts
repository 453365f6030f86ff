import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type { schema } from './schema.js';

/** The typed query interface every store driver hands out (Drizzle over PostgreSQL). */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** A transaction handle; it has the same query surface as {@link Db}. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** What a driver can do, decided once at start-up instead of by `if (kind === …)` checks. */
export interface StoreCapabilities {
  /**
   * True when several server processes may share the store (PostgreSQL). False for PGlite,
   * which one process owns; there the home-directory lock keeps a second server out.
   */
  supportsMultipleConnections: boolean;
}

/**
 * The relational store. Drivers: `pglite/` (embedded, the default) and `postgres/`
 * (`SLIPWAY_DATABASE_URL`). Both run the same migrations and the same queries.
 */
export interface Store {
  readonly db: Db;
  readonly capabilities: StoreCapabilities;
  /** Runs SQL text with no parameters (migrations); several statements are allowed. */
  exec(sql: string): Promise<void>;
  /**
   * Runs `fn` while holding an exclusive lock named `key`, across every server sharing the
   * store (a PostgreSQL advisory lock) and within this process. Used to serialize publishes
   * per deployment without holding a transaction open during a build.
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
