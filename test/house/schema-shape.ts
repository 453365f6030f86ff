/**
 * A plain description of a relational schema (tables, columns, keys, indexes) that both the
 * Drizzle schema and a migrated database can be turned into, and the differences between two.
 */
import { is, SQL } from 'drizzle-orm';
import { getTableConfig, PgDialect, type PgTable } from 'drizzle-orm/pg-core';

/** One column: SQL type as `format_type` spells it, nullability, default expression. */
export interface ColumnShape {
  type: string;
  notNull: boolean;
  /** The default as PostgreSQL prints it (`false`, `'auto'::text`); undefined when none. */
  default: string | undefined;
}

/** One index other than the primary key (unique constraints are unique indexes). */
export interface IndexShape {
  columns: string[];
  unique: boolean;
  /** The `WHERE` of a partial index, as text; only its presence is compared (see below). */
  predicate: string | undefined;
}

/** One table. */
export interface TableShape {
  columns: Map<string, ColumnShape>;
  primaryKey: string[];
  indexes: Map<string, IndexShape>;
}

/** Tables by name. */
export type SchemaShape = Map<string, TableShape>;

/** Serial types are integer columns with a sequence default, which is how the catalog shows them. */
const SERIAL: Record<string, string> = { serial: 'integer', bigserial: 'bigint', smallserial: 'smallint' };
const SEQUENCE_DEFAULT = 'nextval(…)';
const dialect = new PgDialect();

/** The Drizzle tables as a {@link SchemaShape}. */
export function describeDrizzle(tables: readonly PgTable[]): SchemaShape {
  const shape: SchemaShape = new Map();
  for (const table of tables) {
    const config = getTableConfig(table);
    const t: TableShape = { columns: new Map(), primaryKey: [], indexes: new Map() };
    for (const c of config.columns) {
      const sqlType = c.getSQLType();
      const serial = SERIAL[sqlType];
      t.columns.set(c.name, {
        type: serial ?? sqlType,
        notNull: c.notNull,
        default: serial ? SEQUENCE_DEFAULT : drizzleDefault(c.default),
      });
      if (c.primary) t.primaryKey = [c.name];
      if (c.isUnique) t.indexes.set(c.uniqueName ?? `${config.name}_${c.name}_unique`, { columns: [c.name], unique: true, predicate: undefined });
    }
    for (const pk of config.primaryKeys) t.primaryKey = pk.columns.map((c) => c.name);
    for (const u of config.uniqueConstraints) t.indexes.set(u.getName() ?? u.columns.map((c) => c.name).join('_'), { columns: u.columns.map((c) => c.name), unique: true, predicate: undefined });
    for (const ix of config.indexes) {
      const columns = ix.config.columns.map((c) => (is(c, SQL) ? dialect.sqlToQuery(c).sql : ((c as { name?: string }).name ?? '?')));
      const predicate = ix.config.where ? dialect.sqlToQuery(ix.config.where).sql : undefined;
      t.indexes.set(ix.config.name ?? columns.join('_'), { columns, unique: ix.config.unique, predicate });
    }
    shape.set(config.name, t);
  }
  return shape;
}

/** A Drizzle default value as PostgreSQL would print it, before {@link normalizeDefault}. */
function drizzleDefault(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (is(value, SQL)) return dialect.sqlToQuery(value).sql;
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  if (typeof value === 'object') return `'${JSON.stringify(value).replace(/'/g, "''")}'`;
  return String(value);
}

/** Drops casts and outer parentheses (`'{}'::jsonb` → `'{}'`) and folds sequence defaults. */
function normalizeDefault(expr: string | undefined): string | undefined {
  if (expr === undefined) return undefined;
  if (expr.startsWith('nextval(') || expr === SEQUENCE_DEFAULT) return SEQUENCE_DEFAULT;
  let e = expr.trim();
  while (e.startsWith('(') && e.endsWith(')')) e = e.slice(1, -1).trim();
  return e.replace(/::[a-z ]+(\[\])?/g, '');
}

/**
 * Indexes are matched by what they do (columns, uniqueness, partial or not), not by name, since
 * Drizzle's names never reach the database. The `WHERE` texts are not compared: PostgreSQL
 * rewrites them (`state IN (…)` becomes `state = ANY (ARRAY[…])`), so only their presence is.
 */
function indexKey(ix: IndexShape): string {
  return `${ix.unique ? 'unique ' : ''}(${ix.columns.join(', ')})${ix.predicate === undefined ? '' : ' partial'}`;
}

/** Every difference between `a` and `b`, one readable line each, in a stable order. */
export function diffSchemas(a: { name: string; shape: SchemaShape }, b: { name: string; shape: SchemaShape }): string[] {
  const out: string[] = [];
  for (const [name] of a.shape) if (!b.shape.has(name)) out.push(`table ${name}: in ${a.name}, not in ${b.name}`);
  for (const [name] of b.shape) if (!a.shape.has(name)) out.push(`table ${name}: in ${b.name}, not in ${a.name}`);
  for (const [tableName, ta] of a.shape) {
    const tb = b.shape.get(tableName);
    if (!tb) continue;
    for (const [col] of ta.columns) if (!tb.columns.has(col)) out.push(`${tableName}.${col}: in ${a.name}, not in ${b.name}`);
    for (const [col] of tb.columns) if (!ta.columns.has(col)) out.push(`${tableName}.${col}: in ${b.name}, not in ${a.name}`);
    for (const [col, ca] of ta.columns) {
      const cb = tb.columns.get(col);
      if (!cb) continue;
      if (ca.type !== cb.type) out.push(`${tableName}.${col}: type is ${ca.type} in ${a.name}, ${cb.type} in ${b.name}`);
      if (ca.notNull !== cb.notNull) out.push(`${tableName}.${col}: ${ca.notNull ? 'NOT NULL' : 'nullable'} in ${a.name}, ${cb.notNull ? 'NOT NULL' : 'nullable'} in ${b.name}`);
      const [da, db] = [normalizeDefault(ca.default), normalizeDefault(cb.default)];
      if (da !== db) out.push(`${tableName}.${col}: default ${da ?? 'none'} in ${a.name}, ${db ?? 'none'} in ${b.name}`);
    }
    if (ta.primaryKey.join(',') !== tb.primaryKey.join(',')) {
      out.push(`${tableName}: primary key (${ta.primaryKey.join(', ')}) in ${a.name}, (${tb.primaryKey.join(', ')}) in ${b.name}`);
    }
    const ka = new Map([...ta.indexes].map(([n, ix]) => [indexKey(ix), n]));
    const kb = new Map([...tb.indexes].map(([n, ix]) => [indexKey(ix), n]));
    for (const [key, n] of ka) if (!kb.has(key)) out.push(`${tableName}: index ${n} ${key} in ${a.name}, not in ${b.name}`);
    for (const [key, n] of kb) if (!ka.has(key)) out.push(`${tableName}: index ${n} ${key} in ${b.name}, not in ${a.name}`);
  }
  return out;
}
