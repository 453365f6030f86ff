import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { schema } from '../schema.js';
import type { Db, Store } from '../store.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { initPgliteDataDir, needsInitdb } from './pglite-init.js';

/** Options for {@link openPgliteStore}. */
export interface PgliteStoreOptions {
  /** Data directory; created on first use (that first start takes several seconds). */
  dataDir: string;
}

/**
 * PostgreSQL's memory settings inside PGlite, whose WebAssembly memory only ever grows: what
 * a setting lets PostgreSQL touch once stays resident. initdb's defaults (128 MB of shared
 * buffers, 64 MB for maintenance such as index builds) sized for a database server of its own
 * cost the embedded server ~110 MB at start; the data files are read through the operating
 * system's page cache anyway, so a 32 MB buffer pool loses little (docs/operations.md#memory).
 */
const MEMORY_SETTINGS = ['-c', 'shared_buffers=32MB', '-c', 'maintenance_work_mem=16MB'];

/**
 * The embedded store: PostgreSQL compiled to WebAssembly, in this process. One process owns the
 * directory (PGlite does not lock it itself; the caller holds the home lock), so an in-process
 * mutex is a complete lock.
 */
export async function openPgliteStore(options: PgliteStoreOptions): Promise<Store> {
  if (await needsInitdb(options.dataDir)) await initPgliteDataDir(options.dataDir);
  await mkdir(options.dataDir, { recursive: true });
  const client = await PGlite.create(options.dataDir, { startParams: [...PGlite.defaultStartParams, ...MEMORY_SETTINGS] });
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
