import { sql } from 'drizzle-orm';
import type { Store } from './store.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';

/** The outcome for one migration. */
export interface MigrationResult {
  id: string;
  status: 'applied' | 'already_applied';
}

/**
 * Brings the schema up to date. Each migration runs in its own transaction together with its
 * bookkeeping row, so a crash leaves it either wholly applied or not at all; an advisory
 * transaction lock keeps two servers from migrating at once. Returns a result per migration.
 */
export async function migrateToLatest(
  store: Store,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult[]> {
  await store.exec(
    'CREATE TABLE IF NOT EXISTS slipway_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL)',
  );
  const results: MigrationResult[] = [];
  for (const m of migrations) {
    // Checking and applying inside one locked transaction makes concurrent migrators safe.
    const applied = await store.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(7070001)`);
      const rows = await tx.execute(sql`SELECT id FROM slipway_migrations WHERE id = ${m.id}`);
      if (rowCount(rows) > 0) return false;
      // Statement by statement: PGlite's extended protocol takes one statement per query.
      for (const statement of splitStatements(m.sql)) await tx.execute(sql.raw(statement));
      await tx.execute(sql`INSERT INTO slipway_migrations (id, applied_at) VALUES (${m.id}, now())`);
      return true;
    });
    results.push({ id: m.id, status: applied ? 'applied' : 'already_applied' });
  }
  return results;
}

function rowCount(result: unknown): number {
  const rows = (result as { rows?: unknown[] }).rows ?? (result as unknown[]);
  return Array.isArray(rows) ? rows.length : 0;
}

/** Splits migration text at `;` line ends; our migrations have no semicolons inside bodies. */
export function splitStatements(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
