/**
 * Any sequence of snapshot, upsert and remove messages, applied one pass at a time while
 * releases load in the background and the journal compacts at random sizes, leaves the same
 * served table, and the same state on disk, as the final routes applied at once from scratch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { fuzzParams } from '../../test/support/fuzz.js';
import type { Route, RouteMessage, RouteRelease } from '../core/routes.js';
import { silentLogger } from './logger.js';
import type { ReleaseCache } from './release-cache.js';
import { createRouteJournal, type RouteJournal } from './route-journal.js';
import { readRouteState } from './route-state.js';
import { RouteSync } from './route-sync.js';
import { RouteTable } from './route-table.js';
import type { Site } from './site.js';

const SHAS = ['1', '2', '3', '4'].map((c) => c.repeat(64));
const IDS = ['dep_1', 'dep_2', 'dep_3', 'dep_4', 'dep_5'];
const SLUGS = ['shop', 'blog', 'docs', 'app'];

/** A cache whose releases load after a few turns of the event loop; sites are stand-ins. */
function fakeCache(): ReleaseCache {
  const sites = new Map<string, Site>();
  const later = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    get: (sha: string) => sites.get(sha),
    async load(sha: string) {
      await later();
      await later();
      if (!sites.has(sha)) sites.set(sha, { sha } as unknown as Site);
      return sites.get(sha)!;
    },
    pin() {},
    stats: () => ({ pinned: 0, cached: 0, residentBytes: 0, budgetBytes: 0, downloads: 0, reloads: 0 }),
  } as unknown as ReleaseCache;
}

const release = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  sha: fc.constantFrom(...SHAS),
  dynamic: fc.boolean(),
  upstreams: fc.subarray(['127.0.0.1:9001', '127.0.0.1:9002']),
}).map(({ n, sha, dynamic, upstreams }): RouteRelease => (dynamic
  ? { version_number: n, version_id: `ver_${n}`, artifact_sha256: sha, kind: 'dynamic', upstreams }
  : { version_number: n, version_id: `ver_${n}`, artifact_sha256: sha }));

const route = fc.record({
  id: fc.constantFrom(...IDS),
  slug: fc.constantFrom(...SLUGS),
  spa: fc.boolean(),
  versions: fc.uniqueArray(release, { maxLength: 3, selector: (r) => r.version_number }),
  activeIndex: fc.integer({ min: -1, max: 2 }),
}).map(({ id, slug, spa, versions, activeIndex }): Route => ({
  deployment_id: id, slug, spa_fallback: spa, active: versions[activeIndex] ?? null, versions,
}));

type Step = { kind: 'snapshot'; routes: Route[] } | { kind: 'upsert'; route: Route } | { kind: 'remove'; id: string } | { kind: 'yield' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.array(route, { maxLength: 5 }).map((routes): Step => ({ kind: 'snapshot', routes })) },
  { weight: 5, arbitrary: route.map((r): Step => ({ kind: 'upsert', route: r })) },
  { weight: 2, arbitrary: fc.constantFrom(...IDS).map((id): Step => ({ kind: 'remove', id })) },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'yield' }) },
);

/** Turns steps into the messages a server could send: live slugs stay unique, as the store keeps them. */
function toMessages(steps: Step[]): { messages: Array<RouteMessage | 'yield'>; final: Map<string, Route> } {
  let table = new Map<string, Route>();
  const messages: Array<RouteMessage | 'yield'> = [];
  let revision = 0;
  const slugFree = (t: Map<string, Route>, r: Route) => ![...t.values()].some((o) => o.slug === r.slug && o.deployment_id !== r.deployment_id);
  for (const s of steps) {
    if (s.kind === 'yield') {
      messages.push('yield');
      continue;
    }
    revision += 1;
    if (s.kind === 'snapshot') {
      const next = new Map<string, Route>();
      for (const r of s.routes) if (slugFree(next, r)) next.set(r.deployment_id, r);
      table = next;
      messages.push({ type: 'snapshot', revision, routes: [...next.values()] });
    } else if (s.kind === 'upsert' && slugFree(table, s.route)) {
      table.set(s.route.deployment_id, s.route);
      messages.push({ type: 'upsert', revision, route: s.route });
    } else if (s.kind === 'remove') {
      table.delete(s.id);
      messages.push({ type: 'remove', revision, deployment_id: s.id });
    } else {
      revision -= 1;
    }
  }
  return { messages, final: table };
}

interface Edge {
  table: RouteTable;
  sync: RouteSync;
  journal: RouteJournal;
}

function startEdge(dir: string, minCompactBytes: number): Edge {
  const table = new RouteTable('localhost');
  const journal = createRouteJournal({
    stateDir: dir, logger: silentLogger, minCompactBytes,
    current: () => ({ revision: table.current.revision, routes: Array.from(table.current.byId.values(), (e) => e.route) }),
  });
  const sync = new RouteSync({ table, cache: fakeCache(), journal, logger: silentLogger, retryMs: { min: 5, max: 20 } });
  return { table, sync, journal };
}

/** What a request can observe: each host's route, and each deployment's. */
function servedTable(table: RouteTable): { hosts: Map<string, Route>; ids: Map<string, Route> } {
  const hosts = new Map([...table.current.byHost].map(([h, e]) => [h, e.route]));
  const ids = new Map([...table.current.byId].map(([id, e]) => [id, e.route]));
  return { hosts, ids };
}

test('incremental passes give the same table and saved state as the final routes applied at once', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 3000 }), async (steps, minCompactBytes) => {
      const { messages, final } = toMessages(steps);
      const real = messages.filter((m) => m !== 'yield');
      if (real.length === 0) return;
      const last = real.at(-1)!.revision;
      const dirs = [await mkdtemp(join(tmpdir(), 'route-sync-fuzz-')), await mkdtemp(join(tmpdir(), 'route-sync-fuzz-'))];
      const edges: Edge[] = [];
      try {
        const incremental = startEdge(dirs[0]!, minCompactBytes);
        edges.push(incremental);
        for (const m of messages) {
          // A yield lets passes, loads and journal writes interleave with later messages.
          if (m === 'yield') await new Promise<void>((resolve) => setImmediate(resolve));
          else incremental.sync.apply(m);
        }
        await incremental.sync.waitForRevision(last, 10_000);

        const scratch = startEdge(dirs[1]!, minCompactBytes);
        edges.push(scratch);
        scratch.sync.apply({ type: 'snapshot', revision: last, routes: [...final.values()] });
        await scratch.sync.waitForRevision(last, 10_000);

        const got = servedTable(incremental.table);
        assert.deepEqual(got, servedTable(scratch.table));
        assert.deepEqual(got.ids, final);
        assert.equal(incremental.table.current.revision, last);

        await incremental.journal.flush();
        const saved = await readRouteState(dirs[0]!, silentLogger);
        assert.equal(saved?.revision, last);
        assert.deepEqual(new Map(saved?.routes.map((r) => [r.deployment_id, r])), final);
      } finally {
        for (const e of edges) {
          await e.sync.close();
          await e.journal.close();
        }
        for (const d of dirs) await rm(d, { recursive: true, force: true });
      }
    }),
    fuzzParams(60),
  );
});
