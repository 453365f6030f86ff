/**
 * Fresh, migrated stores for tests. Creating a PGlite database costs ~7 s and ~800 MB, so one
 * migrated template directory is made per schema and copied for each test; with
 * SLIPWAY_TEST_DATABASE_URL set, each test gets its own database on that PostgreSQL server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { MIGRATIONS } from '../../src/store/migrations/index.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openPgliteStore } from '../../src/store/pglite/pglite-store.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/store.js';

/** A store for one test plus how to throw it away. */
export interface TestStore {
  store: Store;
  /** Where the store lives: a PGlite data dir or a postgres:// URL. */
  location: string;
  cleanup(): Promise<void>;
}

/** The PostgreSQL server tests run against, or undefined for PGlite. */
export const testDatabaseUrl = process.env.SLIPWAY_TEST_DATABASE_URL || undefined;

/** A PGlite data directory, migrated to the latest schema, that tests may copy. */
export async function pgliteTemplateDir(): Promise<string> {
  const hash = createHash('sha256').update(JSON.stringify(MIGRATIONS)).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), `slipway-pglite-template-${hash}`);
  if (await exists(join(dir, '.ready'))) return dir;
  const staging = await mkdtemp(join(tmpdir(), 'slipway-pglite-staging-'));
  const store = await openPgliteStore({ dataDir: join(staging, 'db') });
  await migrateToLatest(store);
  await store.close();
  await writeFile(join(staging, 'db', '.ready'), '');
  // Several test processes may race to create it; the first rename wins, the rest discard.
  await rename(join(staging, 'db'), dir).catch(() => undefined);
  await rm(staging, { recursive: true, force: true });
  return dir;
}

/** Copies the template into `dataDir` (which must not exist yet). */
export async function copyPgliteTemplate(dataDir: string): Promise<void> {
  await cp(await pgliteTemplateDir(), dataDir, { recursive: true });
}

/** Creates an empty database on the test server and returns its URL. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(testDatabaseUrl ?? '');
  const name = `slipway_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Opens a fresh migrated store of the kind this test run targets. */
export async function openTestStore(): Promise<TestStore> {
  if (testDatabaseUrl) {
    const database = await createTestDatabase();
    const store = await openPostgresStore({ url: database.url });
    await migrateToLatest(store);
    return {
      store,
      location: database.url,
      cleanup: async () => {
        await store.close();
        await database.drop();
      },
    };
  }
  const root = await mkdtemp(join(tmpdir(), 'slipway-store-'));
  await copyPgliteTemplate(join(root, 'db'));
  const store = await openPgliteStore({ dataDir: join(root, 'db') });
  return {
    store,
    location: join(root, 'db'),
    cleanup: async () => {
      await store.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

