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
 * Messages between every connection to one database (PostgreSQL `LISTEN/NOTIFY`), so servers
 * sharing the store can wake each other. Only stores several processes share have one.
 */
export interface StoreChannel {
  /** Sends `payload` (a few bytes; at most 8000) to every listener of `channel`, this process's included. */
  notify(channel: string, payload: string): Promise<void>;
  /**
   * Listens on `channel` on a connection of its own. When that connection drops it is opened
   * again (with a growing delay), `onError` is told, and `onReconnect` runs once it listens
   * again: anything sent in between was lost. Resolves once listening; returns the stop.
   */
  listen(channel: string, handlers: StoreChannelHandlers): Promise<() => Promise<void>>;
}

/** What {@link StoreChannel.listen} calls. */
export interface StoreChannelHandlers {
  onMessage(payload: string): void;
  /** Runs after a dropped listening connection listens again (messages may have been missed). */
  onReconnect(): void;
  /** The listening connection failed; it is being reopened. */
  onError(err: Error): void;
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
  /** Present when several servers may share the store: how they notify each other. */
  readonly channel?: StoreChannel;
  close(): Promise<void>;
}
