import type { Store } from '../store/store.js';
import { migrateToLatest } from '../store/migrate.js';

// Loaded when chosen: a server on PostgreSQL never loads PGlite, nor one on PGlite `pg`
// (docs/operations.md#memory).
const loadPglite = () => import('../store/pglite/pglite-store.js');
const loadPostgres = () => import('../store/postgres/postgres-store.js');

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
    ? await (await loadPostgres()).openPostgresStore({ url: options.databaseUrl, onIdleError: options.onIdleError })
    : await (await loadPglite()).openPgliteStore({ dataDir: options.pgliteDir });
  try {
    await migrateToLatest(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
