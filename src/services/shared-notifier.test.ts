// The notifier of servers sharing one PostgreSQL database: runs when SLIPWAY_TEST_DATABASE_URL
// is set (CI sets it); PGlite has no second connection to notify.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { createTestDatabase, testDatabaseUrl } from '../../test/support/test-store.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { waitFor } from '../util/wait-for.js';
import { NOTIFY_CHANNEL, SharedNotifier } from './shared-notifier.js';

const skip = testDatabaseUrl ? false : 'needs PostgreSQL (SLIPWAY_TEST_DATABASE_URL): PGlite has one connection, owned by one process';

/** Two stores (two connection pools, as two servers have) on one fresh database. */
async function twoStores(t: TestContext): Promise<[Store, Store]> {
  const database = await createTestDatabase();
  const stores = [await openPostgresStore({ url: database.url }), await openPostgresStore({ url: database.url })] as [Store, Store];
  t.after(async () => {
    for (const s of stores) await s.close();
    await database.drop();
  });
  return stores;
}

function capture() {
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg as string) });
  return { logger, warnings };
}

async function start(t: TestContext, store: Store, logger = pino({ level: 'silent' })): Promise<SharedNotifier> {
  const notifier = await SharedNotifier.start(store.channel!, logger);
  t.after(() => notifier.close());
  return notifier;
}

test('a notification emitted on one server wakes a waiter on the other, marked remote, and not its own again', { skip }, async (t) => {
  const [one, two] = await twoStores(t);
  const a = await start(t, one);
  const b = await start(t, two);
  const onA: string[] = [];
  a.on('work', (id, origin) => onA.push(`${id}:${origin}`));
  const origins: string[] = [];
  b.on('work', (_id, origin) => origins.push(origin));
  const woken = b.waitFor('work', (id) => id === 'dep_1', 5000);
  a.emit('work', 'dep_1');
  assert.equal(await woken, true);
  assert.deepEqual(origins, ['remote']);
  // A's own NOTIFY comes back to A's listener too: it must not be delivered twice.
  b.emit('work', 'dep_2');
  await waitFor(() => onA.includes('dep_2:remote'), { description: 'A to hear B' });
  assert.deepEqual(onA, ['dep_1:local', 'dep_2:remote']);
});

test('malformed and unknown notifications on the channel are ignored', { skip }, async (t) => {
  const [one] = await twoStores(t);
  const { logger, warnings } = capture();
  const a = await start(t, one, logger);
  const heard: string[] = [];
  a.on('work', (id) => heard.push(id));
  await one.channel!.notify(NOTIFY_CHANNEL, 'not json');
  await one.channel!.notify(NOTIFY_CHANNEL, JSON.stringify(['other', 'no-such-topic', 'x']));
  await one.channel!.notify(NOTIFY_CHANNEL, JSON.stringify(['other', 'work', 'dep_ok']));
  await waitFor(() => heard.includes('dep_ok'), { description: 'the valid notification' });
  assert.deepEqual(heard, ['dep_ok']);
  assert.ok(warnings.some((w) => w.includes('malformed')));
});

test('a dropped listening connection is reopened with a warning, a resync is emitted, and notifications flow again', { skip }, async (t) => {
  const [one, two] = await twoStores(t);
  const { logger, warnings } = capture();
  const a = await start(t, one);
  const b = await start(t, two, logger);
  const resyncs: string[] = [];
  b.on('resync', (why, origin) => resyncs.push(`${why}:${origin}`));
  // Terminate both listening backends, as a database restart or an administrator would.
  const listeners = await one.db.execute(sql`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`);
  const pids = ((listeners as unknown as { rows: Array<{ pid: number }> }).rows).map((r) => r.pid);
  assert.equal(pids.length, 2, 'one listening connection per server');
  for (const pid of pids) await one.db.execute(sql`SELECT pg_terminate_backend(${pid})`);
  await waitFor(() => resyncs.length >= 1, { description: 'a resync after reconnecting' });
  assert.deepEqual(resyncs, ['reconnected:local']);
  assert.ok(warnings.some((w) => w.includes('reconnecting')), 'the drop is logged');
  const woken = b.waitFor('events', (id) => id === 'dep_after', 5000);
  a.emit('events', 'dep_after');
  assert.equal(await woken, true, 'B hears A after reconnecting');
});
