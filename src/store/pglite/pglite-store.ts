import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { schema } from '../schema.js';
import type { Db, Store } from '../store.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';

/** Options for {@link openPgliteStore}. */
export interface PgliteStoreOptions {
  /** Data directory; created on first use (that first start takes several seconds). */
  dataDir: string;
}

/**
 * The embedded store: PostgreSQL compiled to WebAssembly, in this process. One process owns the
 * directory (PGlite does not lock it itself; the caller holds the home lock), so an in-process
 * mutex is a complete lock.
 */
export async function openPgliteStore(options: PgliteStoreOptions): Promise<Store> {
  await mkdir(options.dataDir, { recursive: true });
  const client = await PGlite.create(options.dataDir);
  const db = drizzle(client, { schema }) as unknown as Db;
  const mutex = new KeyedMutex();
  return {
    db,
    capabilities: { supportsMultipleConnections: false },
    exec: async (sql) => {
      await client.exec(sql);
    },
    withLock: (key, fn) => mutex.run(key, fn),
    close: () => client.close(),
  };
}
