import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import type { Route } from '../core/routes.js';
import { silentLogger } from './logger.js';
import type { ReleaseCache } from './release-cache.js';
import { createRouteJournal, type RouteJournal } from './route-journal.js';
import { journalPath, type RouteChange } from './route-state.js';
import { RouteSync } from './route-sync.js';
import { RouteTable, type RouteEntry } from './route-table.js';
import type { Site } from './site.js';

const SHAS = ['a', 'b', 'c'].map((c) => c.repeat(64));

/** A sync over a cache holding every release, with a journal that records what it is given. */
function syncWithRecorder() {
  const sites = new Map(SHAS.map((sha) => [sha, { sha } as unknown as Site]));
  const cache = { get: (sha: string) => sites.get(sha), load: async (sha: string) => sites.get(sha)!, pin() {} } as unknown as ReleaseCache;
  const appended: Array<Omit<RouteChange, 'seq'>> = [];
  let compactions = 0;
  const journal: RouteJournal = {
    append: (change) => void appended.push(change),
    compact: () => void compactions++,
    flush: async () => undefined,
    close: async () => undefined,
  };
  const table = new RouteTable('localhost');
  const sync = new RouteSync({ table, cache, journal, logger: silentLogger });
  return { table, sync, appended, compactions: () => compactions };
}

const routes = (n: number): Route[] => Array.from({ length: n }, (_, i) => testRoute(`site-${i}`, [SHAS[i % 2]!, SHAS[2]!]));

test('a change touches only the route it names: other entries stay, the journal gets that route alone', async () => {
  const { table, sync, appended } = syncWithRecorder();
  const all = routes(50);
  sync.apply({ type: 'snapshot', revision: 1, routes: all });
  await sync.waitForRevision(1);
  const before = new Map<string, RouteEntry>(table.current.byId);

  const changed = testRoute('site-7', [SHAS[0]!, SHAS[2]!], { active: 1 });
  sync.apply({ type: 'upsert', revision: 2, route: changed });
  sync.apply({ type: 'remove', revision: 3, deployment_id: 'dep_site-9' });
  await sync.waitForRevision(3);

  assert.deepEqual(appended.at(-1), { revision: 3, upsert: [changed], remove: ['dep_site-9'] }, 'one pass, one line, only the change');
  for (const [id, entry] of table.current.byId) {
    if (id !== 'dep_site-7') assert.equal(entry, before.get(id), `${id} keeps its entry`);
  }
  assert.equal(table.active('site-7.localhost')?.route, changed);
  assert.equal(table.active('site-9.localhost'), undefined);
});

test('a snapshot that repeats the table (a reconnect) keeps every entry and writes no route', async () => {
  const { table, sync, appended } = syncWithRecorder();
  const all = routes(20);
  sync.apply({ type: 'snapshot', revision: 1, routes: all });
  await sync.waitForRevision(1);
  const before = new Map<string, RouteEntry>(table.current.byId);
  const count = appended.length;
  // Equal routes, new objects, as they arrive from the server after a reconnect.
  sync.apply({ type: 'snapshot', revision: 4, routes: structuredClone(all) });
  await sync.waitForRevision(4);
  for (const [id, entry] of table.current.byId) assert.equal(entry, before.get(id), id);
  assert.deepEqual(appended.slice(count), [{ revision: 4, upsert: [], remove: [] }]);
});

test('a change of most of a large table is saved as a snapshot, not a journal line', async () => {
  const { sync, appended, compactions } = syncWithRecorder();
  sync.apply({ type: 'snapshot', revision: 1, routes: routes(1500) });
  await sync.waitForRevision(1);
  assert.equal(compactions(), 1);
  assert.equal(appended.length, 0);
});

test('a change is served and acknowledged at once while the journal\'s write to disk hangs', async (t) => {
  const sites = new Map(SHAS.map((sha) => [sha, { sha } as unknown as Site]));
  const cache = { get: (sha: string) => sites.get(sha), load: async (sha: string) => sites.get(sha)!, pin() {} } as unknown as ReleaseCache;
  const dir = await mkdtemp(join(tmpdir(), 'slipway-route-sync-'));
  // The real journal, whose file is a FIFO nobody reads: opening it to append blocks until a
  // reader comes, as a write to a stalled disk never returns.
  const fifo = journalPath(dir);
  await promisify(execFile)('mkfifo', [fifo]);
  const table = new RouteTable('localhost');
  const journal = createRouteJournal({ stateDir: dir, logger: silentLogger, current: () => ({ revision: table.current.revision, routes: [] }) });
  let unblocked = false;
  t.after(async () => {
    // A reader lets the stalled open (a thread of libuv's pool) go; the write then fails on the
    // FIFO (no fsync there) and closes it, and the journal's retry, a whole snapshot, goes to a
    // plain file once the FIFO is gone.
    if (!unblocked) await drain(fifo);
    await rm(fifo, { force: true });
    await journal.close();
    await rm(dir, { recursive: true, force: true });
  });
  const acked: number[] = [];
  const sync = new RouteSync({ table, cache, journal, logger: silentLogger, onApplied: (revision) => acked.push(revision) });
  sync.apply({ type: 'snapshot', revision: 1, routes: routes(3) });
  await sync.waitForRevision(1);
  const rolledBack = testRoute('site-1', [SHAS[0]!, SHAS[2]!], { active: 1 });
  sync.apply({ type: 'upsert', revision: 2, route: rolledBack });
  await sync.waitForRevision(2);
  assert.equal(table.active('site-1.localhost')?.route, rolledBack, 'served');
  assert.deepEqual(acked, [1, 2], 'acknowledged');

  // The control: the journal was handed the change and really is stuck (its flush can only end
  // once a reader opens the FIFO).
  let flushed = false;
  const flushing = journal.flush().then(() => (flushed = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(flushed, false, 'the journal is stalled');
  const written = await drain(fifo);
  unblocked = true;
  await flushing;
  assert.match(written, /"revision":1,/, 'what it was writing was the first change');
});

/** Opens the FIFO for reading (so a writer blocked on it goes on) and reads until it closes. */
function drain(fifo: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    createReadStream(fifo, { encoding: 'utf8' })
      .on('data', (chunk) => (text += chunk))
      .once('end', () => resolve(text))
      .once('error', reject);
  });
}
