/**
 * The Drizzle schema (src/store/schema.ts) describes the database the SQL migrations
 * (src/store/migrations/) make: the same tables and columns, SQL types, nullability, defaults,
 * primary keys, unique constraints and indexes. Both are written by hand; this keeps them in step.
 * Runs on a fresh migrated PGlite database, or PostgreSQL with SLIPWAY_TEST_DATABASE_URL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { schema } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from '../support/test-store.js';
import { describeDrizzle, diffSchemas, type SchemaShape, type TableShape } from './schema-shape.js';

/** Tables the migrator keeps for itself; queries never touch them through Drizzle. */
const BOOKKEEPING = new Set(['slipway_migrations']);

async function rows<T>(store: Store, query: ReturnType<typeof sql>): Promise<T[]> {
  const result = (await store.db.execute(query)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/** The migrated database as the catalog sees it. */
async function describeDatabase(store: Store): Promise<SchemaShape> {
  const columns = await rows<{ table_name: string; column_name: string; type: string; not_null: boolean; default_expr: string | null }>(store, sql`
    SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default_expr
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`);
  const indexes = await rows<{ table_name: string; index_name: string; is_primary: boolean; is_unique: boolean; predicate: string | null; cols: string }>(store, sql`
    SELECT t.relname AS table_name, i.relname AS index_name, ix.indisprimary AS is_primary, ix.indisunique AS is_unique,
           pg_get_expr(ix.indpred, ix.indrelid) AS predicate,
           (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
              FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS cols
    FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = current_schema()`);
  const shape: SchemaShape = new Map();
  const table = (name: string): TableShape => {
    let t = shape.get(name);
    if (!t) shape.set(name, (t = { columns: new Map(), primaryKey: [], indexes: new Map() }));
    return t;
  };
  for (const c of columns) {
    if (BOOKKEEPING.has(c.table_name)) continue;
    table(c.table_name).columns.set(c.column_name, { type: c.type, notNull: c.not_null, default: c.default_expr ?? undefined });
  }
  for (const ix of indexes) {
    if (BOOKKEEPING.has(ix.table_name)) continue;
    const cols = ix.cols.split(',');
    if (ix.is_primary) table(ix.table_name).primaryKey = cols;
    else table(ix.table_name).indexes.set(ix.index_name, { columns: cols, unique: ix.is_unique, predicate: ix.predicate ?? undefined });
  }
  return shape;
}

test('the Drizzle schema matches the database the SQL migrations make', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    const database = await describeDatabase(store);
    const drizzle = describeDrizzle(Object.values(schema) as PgTable[]);
    assert.ok(database.size >= 10 && drizzle.size >= 10, `saw ${database.size} tables in the database and ${drizzle.size} in schema.ts: the introspection is broken`);
    const differences = diffSchemas({ name: 'src/store/schema.ts', shape: drizzle }, { name: 'the migrated database', shape: database });
    assert.deepEqual(differences, [], `src/store/schema.ts and src/store/migrations/ disagree. Fix schema.ts, or add a migration when the database is wrong (never edit a shipped one):\n  ${differences.join('\n  ')}`);
  } finally {
    await cleanup();
  }
});

test('the comparison notices a column whose type differs', () => {
  const drizzle = describeDrizzle(Object.values(schema) as PgTable[]);
  const changed = structuredClone(drizzle);
  const column = changed.get('versions')!.columns.get('attempts')!;
  column.type = 'bigint';
  const differences = diffSchemas({ name: 'a', shape: changed }, { name: 'b', shape: drizzle });
  assert.deepEqual(differences, ['versions.attempts: type is bigint in a, integer in b']);
});
