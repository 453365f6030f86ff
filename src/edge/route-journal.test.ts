import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { closedAddress, dynamicRoute, startNamedUpstream } from '../../test/support/edge/upstream-fixtures.js';
import { startEdge, tempDir, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { get } from '../../test/support/edge/test-helpers.js';
import type { Route } from '../core/routes.js';
import { silentLogger } from './logger.js';
import { createRouteJournal, type RouteJournal } from './route-journal.js';
import { journalPath, readRouteState, routeStatePath, snapshotPath, type LoadedRouteState } from './route-state.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

/** A table kept beside a journal, as RouteSync keeps the served table beside it. */
function tableWithJournal(dir: string, options: { start?: LoadedRouteState | null; minCompactBytes?: number } = {}) {
  const routes = new Map<string, Route>((options.start?.routes ?? []).map((r) => [r.deployment_id, r]));
  let revision = options.start?.revision ?? 0;
  const journal: RouteJournal = createRouteJournal({
    stateDir: dir, logger: silentLogger, minCompactBytes: options.minCompactBytes,
    current: () => ({ revision, routes: [...routes.values()] }),
    start: options.start ?? undefined,
  });
  return {
    routes,
    journal,
    change(upsert: Route[], remove: string[] = []) {
      revision += 1;
      for (const id of remove) routes.delete(id);
      for (const r of upsert) routes.set(r.deployment_id, r);
      journal.append({ revision, upsert, remove });
    },
    get revision() {
      return revision;
    },
  };
}

const byId = (routes: Route[] | undefined) => new Map((routes ?? []).map((r) => [r.deployment_id, r]));

test('changes are appended, not rewritten, and read back in order', async (t) => {
  const dir = await tempDir(t);
  assert.equal(await readRouteState(dir, silentLogger), null, 'nothing saved yet');
  const table = tableWithJournal(dir);
  for (let i = 0; i < 20; i++) table.change([testRoute(`site-${i % 5}`, i % 2 === 0 ? [A] : [A, B])]);
  table.change([], ['dep_site-3']);
  await table.journal.close();
  const state = await readRouteState(dir, silentLogger);
  assert.equal(state?.revision, 21);
  assert.equal(state?.seq, 21, 'one line per change');
  assert.deepEqual(byId(state?.routes), table.routes);
  assert.deepEqual((await readdir(dir)).sort(), ['routes-journal.ndjson'], 'no snapshot before the journal outgrows one, no temp files');
  const lines = (await readFile(journalPath(dir), 'utf8')).trimEnd().split('\n');
  assert.equal(lines.length, 21);
  assert.deepEqual(JSON.parse(lines[20]!), { seq: 21, revision: 21, upsert: [], remove: ['dep_site-3'] }, 'a line holds only its change');
});

test('a journal larger than the snapshot is compacted into a new snapshot and emptied', async (t) => {
  const dir = await tempDir(t);
  const table = tableWithJournal(dir, { minCompactBytes: 2000 });
  for (let i = 0; i < 200; i++) {
    table.change([testRoute(`site-${i % 7}`, i % 3 === 0 ? [A] : [A, B])], i % 11 === 0 ? [`dep_site-${(i + 3) % 7}`] : []);
    if (i % 10 === 0) await table.journal.flush();
  }
  await table.journal.close();
  assert.ok((await stat(snapshotPath(dir))).isFile(), 'a snapshot was written');
  assert.ok((await stat(journalPath(dir))).size < 4000, 'the journal was emptied at the last compaction');
  const state = await readRouteState(dir, silentLogger);
  assert.equal(state?.revision, table.revision);
  assert.deepEqual(byId(state?.routes), table.routes);
  assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
});

test('a torn last line (a crash mid-append) is ignored, and cut before the next append', async (t) => {
  const dir = await tempDir(t);
  const first = tableWithJournal(dir);
  first.change([testRoute('shop', [A])]);
  first.change([testRoute('blog', [A, B])]);
  await first.journal.close();
  await appendFile(journalPath(dir), '{"seq":3,"revision":3,"upsert":[{"deployment_id":"dep_x","sl');

  const state = await readRouteState(dir, silentLogger);
  assert.equal(state?.revision, 2);
  assert.deepEqual([...byId(state?.routes).keys()].sort(), ['dep_blog', 'dep_shop']);
  assert.equal(state?.needsCompaction, true);

  // The next edge appends after the cut: its lines must not hide behind the torn one.
  const second = tableWithJournal(dir, { start: state, minCompactBytes: 1 << 30 });
  second.change([], ['dep_shop']);
  await second.journal.close();
  const after = await readRouteState(dir, silentLogger);
  assert.equal(after?.revision, 3);
  assert.deepEqual([...byId(after?.routes).keys()], ['dep_blog']);
  assert.equal(after?.needsCompaction, false, 'the torn line is gone');
});

test('a crash between the snapshot rename and the journal truncation loses nothing and repeats nothing', async (t) => {
  const dir = await tempDir(t);
  const table = tableWithJournal(dir, { minCompactBytes: 1 << 30 });
  table.change([testRoute('shop', [A])]);
  table.change([testRoute('blog', [A])]);
  table.change([], ['dep_shop']);
  await table.journal.flush();
  const journalBefore = await readFile(journalPath(dir));
  table.journal.compact();
  await table.journal.flush();
  // As if the edge died right after the rename: the old lines are still in the journal.
  await writeFile(journalPath(dir), journalBefore);
  // And left a temp file of a later snapshot that never got renamed.
  await writeFile(`${snapshotPath(dir)}.abc.tmp`, 'half a snap');
  const state = await readRouteState(dir, silentLogger);
  assert.equal(state?.revision, 3);
  assert.deepEqual([...byId(state?.routes).keys()], ['dep_blog'], 'the removal is not undone by replaying older lines');
  assert.equal(state?.seq, 3);
  await table.journal.close();
});

test('an old routes.json is read once, then replaced by a snapshot', async (t) => {
  const dir = await tempDir(t);
  const legacy = { revision: 7, routes: [testRoute('shop', [A, B]), testRoute('blog', [A])] };
  await writeFile(routeStatePath(dir), JSON.stringify(legacy));
  const state = await readRouteState(dir, silentLogger);
  assert.equal(state?.revision, 7);
  assert.deepEqual(byId(state?.routes), byId(legacy.routes));
  assert.equal(state?.needsCompaction, true);

  const table = tableWithJournal(dir, { start: state });
  table.change([testRoute('docs', [B])]);
  await table.journal.close();
  assert.deepEqual((await readdir(dir)).sort(), ['routes-journal.ndjson', 'routes-snapshot.ndjson'], 'routes.json is gone');
  const after = await readRouteState(dir, silentLogger);
  assert.equal(after?.revision, 8);
  assert.deepEqual([...byId(after?.routes).keys()].sort(), ['dep_blog', 'dep_docs', 'dep_shop']);
});

test('an unreadable snapshot is ignored with its journal; a gap in the journal stops the replay', async (t) => {
  const dir = await tempDir(t);
  await writeFile(snapshotPath(dir), '{"format":"slipway-routes/1","revision":3,"seq":3,"routes":2}\n{"deployment_id":"x","slug":"../x"}\n');
  await writeFile(journalPath(dir), '{"seq":4,"revision":4,"upsert":[],"remove":[]}\n');
  assert.equal(await readRouteState(dir, silentLogger), null);

  const other = await tempDir(t);
  const line = (seq: number, route: Route) => `${JSON.stringify({ seq, revision: seq, upsert: [route], remove: [] })}\n`;
  await writeFile(journalPath(other), line(1, testRoute('shop', [A])) + line(3, testRoute('blog', [A])));
  const state = await readRouteState(other, silentLogger);
  assert.deepEqual([...byId(state?.routes).keys()], ['dep_shop']);
  assert.equal(state?.needsCompaction, true);
});

test('an edge upgraded in place serves the routes of its old routes.json with the server down', async (t) => {
  const dir = await tempDir(t);
  const up = await startNamedUpstream(t, 'instance');
  await writeFile(routeStatePath(dir), JSON.stringify({ revision: 4, routes: [dynamicRoute('app', [[up.address]])] }));
  const { edge, port } = await startEdge(t, { serverUrl: `http://${await closedAddress()}`, token: 'test', stateDir: dir });
  const res = await get(port, '/', { host: 'app.localhost' });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), 'instance');
  assert.equal(edge.routes.table.current.revision, 4);
});

test('an edge whose snapshot is unreadable starts empty and saves a whole new table at its first change', async (t) => {
  const dir = await tempDir(t);
  await writeFile(snapshotPath(dir), 'not a snapshot');
  await writeFile(journalPath(dir), '{"seq":1,"revision":1,"upsert":[],"remove":[]}\n');
  const fake = await withFake(t);
  fake.upsert(dynamicRoute('app', [['127.0.0.1:9']]));
  const { edge } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: dir });
  await edge.routes.waitForRevision(fake.revision);
  fake.upsert(dynamicRoute('api', [['127.0.0.1:9']]));
  await edge.routes.waitForRevision(fake.revision);
  await edge.routes.flushState();
  const state = await readRouteState(dir, silentLogger);
  assert.deepEqual([...byId(state?.routes).keys()].sort(), ['dep_api', 'dep_app']);
  assert.equal(state?.revision, fake.revision);
});
