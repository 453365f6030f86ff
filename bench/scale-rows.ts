/**
 * Thousands of deployments in seconds for bench/scale-bench.ts: rows cloned in SQL from a
 * template deployment that was published for real, so every clone's versions point at real
 * release blobs and carry whatever columns the schema has today. Written to the PostgreSQL
 * database of a running server; the revision bump with no change recorded makes its route feed
 * send its edges a snapshot.
 */
import { sql } from 'drizzle-orm';
import type { Store } from '../src/store/store.js';

/** The slug of clone `n`. */
export const cloneSlug = (n: number): string => `bulk-${n}`;

const cloneId = (prefix: string) => `'${prefix}_b' || lpad(g::text, 6, '0')`;

async function columnsOf(store: Store, table: string): Promise<string[]> {
  const result = await store.db.execute(sql`SELECT column_name FROM information_schema.columns
    WHERE table_name = ${table} AND table_schema = current_schema() ORDER BY ordinal_position`);
  return (result as unknown as { rows: Array<{ column_name: string }> }).rows.map((r) => r.column_name);
}

/** `INSERT … SELECT` of every column of `alias`, with some replaced by expressions. */
function cloneInsert(o: { table: string; alias: string; columns: string[]; replace: Record<string, string>; from: string }): string {
  const select = o.columns.map((c) => o.replace[c] ?? `${o.alias}.${c}`);
  return `INSERT INTO ${o.table} (${o.columns.join(', ')}) SELECT ${select.join(', ')} ${o.from};`;
}

/**
 * Clones deployment `templateId` (its row, its ready versions and its production ring, whose
 * active version maps to the clone's version of the same number) as clones `from`…`to`, and
 * bumps the route revision so edges that remember the old one take the change.
 */
export async function cloneDeployments(store: Store, templateId: string, range: { from: number; to: number }): Promise<void> {
  if (!/^dep_[a-z0-9]+$/.test(templateId)) throw new Error(`unexpected deployment id ${templateId}`);
  const series = `generate_series(${Math.trunc(range.from)}, ${Math.trunc(range.to)}) AS g`;
  const deployment = cloneInsert({
    table: 'deployments', alias: 'd', columns: await columnsOf(store, 'deployments'),
    replace: { id: cloneId('dep'), slug: `'bulk-' || g`, name: `'bulk-' || g`, created_at: 'now()', updated_at: 'now()' },
    from: `FROM deployments d CROSS JOIN ${series} WHERE d.id = '${templateId}'`,
  });
  const version = cloneInsert({
    table: 'versions', alias: 'v', columns: await columnsOf(store, 'versions'),
    replace: { id: `${cloneId('ver')} || '_' || v.version_number`, deployment_id: cloneId('dep'), idempotency_key: 'NULL' },
    from: `FROM versions v CROSS JOIN ${series} WHERE v.deployment_id = '${templateId}' AND v.state = 'ready'`,
  });
  const ring = cloneInsert({
    table: 'rings', alias: 'r', columns: await columnsOf(store, 'rings'),
    replace: { id: cloneId('rng'), deployment_id: cloneId('dep'), active_version_id: `${cloneId('ver')} || '_' || av.version_number` },
    from: `FROM rings r JOIN versions av ON av.id = r.active_version_id CROSS JOIN ${series} WHERE r.deployment_id = '${templateId}' AND r.name = 'production'`,
  });
  await store.exec(`BEGIN; ${deployment} ${version} ${ring} UPDATE route_revision SET revision = revision + 1; COMMIT;`);
}
