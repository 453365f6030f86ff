import type { Store } from '../store/store.js';
import { migrateToLatest } from '../store/migrate.js';
import { openPgliteStore } from '../store/pglite/pglite-store.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';

/**
 * The one place a store driver is chosen: PostgreSQL when a URL is given (the `cluster`
 * preset), PGlite in the home directory otherwise (the `embedded` preset). Migrates before
 * returning.
 */
export async function openStore(options: {
  databaseUrl?: string;
  pgliteDir: string;
  onIdleError?: (err: Error) => void;
}): Promise<Store> {
  const store = options.databaseUrl
    ? await openPostgresStore({ url: options.databaseUrl, onIdleError: options.onIdleError })
    : await openPgliteStore({ dataDir: options.pgliteDir });
  try {
    await migrateToLatest(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
