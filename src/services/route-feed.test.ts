// Two servers' route feeds over one store: on PostgreSQL (SLIPWAY_TEST_DATABASE_URL) two real
// connections notifying each other with LISTEN/NOTIFY; on PGlite, which one process owns, the
// feeds share the store and an in-memory channel stands in for LISTEN/NOTIFY.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { eq } from 'drizzle-orm';
import pino from 'pino';
import type { RouteMessage } from '../core/routes.js';
import { seedContext, seedDeployment, SEED } from '../../test/support/seed.js';
import { openTestStore, testDatabaseUrl } from '../../test/support/test-store.js';
import { deployments, routeChanges } from '../store/schema.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';
import type { Store, StoreChannel, StoreChannelHandlers } from '../store/store.js';
import { waitFor } from '../util/wait-for.js';
import type { ServiceContext } from './context.js';
import { recordRouteChange } from './route-log.js';
import { RouteFeed } from './route-feed.js';
import { DeploymentService } from './deployment-service.js';
import { EnvService } from './env-service.js';
import { Notifier } from './notifier.js';
import { SharedNotifier } from './shared-notifier.js';

const driver = testDatabaseUrl ? 'postgres' : 'pglite';
const silent = pino({ level: 'silent' });

/** Delivers every notify to every listener, like one PostgreSQL channel (test stand-in). */
function memoryChannel(): StoreChannel {
  const listeners = new Set<StoreChannelHandlers>();
  return {
    notify: async (_channel, payload) => {
      for (const l of listeners) queueMicrotask(() => l.onMessage(payload));
    },
    listen: async (_channel, handlers) => {
      listeners.add(handlers);
      return async () => void listeners.delete(handlers);
    },
  };
}

interface Server {
  ctx: ServiceContext;
  feed: RouteFeed;
  notifier: SharedNotifier;
}

/** Two servers' contexts (own notifier and route feed) over one migrated database. */
async function twoServers(t: TestContext): Promise<[Server, Server]> {
  const { store, location, cleanup } = await openTestStore();
  const stores: Store[] = [store];
  const channel = memoryChannel();
  const servers: Server[] = [];
  t.after(async () => {
    for (const s of servers) {
      s.feed.stop();
      await s.notifier.close();
    }
    for (const extra of stores.slice(1)) await extra.close();
    await cleanup();
  });
  if (testDatabaseUrl) stores.push(await openPostgresStore({ url: location }));
  for (const s of [stores[0]!, stores[1] ?? stores[0]!]) {
    const notifier = await SharedNotifier.start(s.channel ?? channel, silent);
    const ctx: ServiceContext = { ...seedContext(s), notifier };
    servers.push({ ctx, notifier, feed: new RouteFeed(ctx) });
  }
  return servers as [Server, Server];
}

/** A routing change as the services make one: recorded in its transaction, then announced. */
async function rename(ctx: ServiceContext, slug: string, announce = true): Promise<number> {
  const revision = await ctx.store.db.transaction(async (tx) => {
    await tx.update(deployments).set({ slug }).where(eq(deployments.id, SEED.deploymentId));
    return recordRouteChange(tx, SEED.deploymentId);
  });
  if (announce) ctx.notifier.emit('route', SEED.deploymentId);
  return revision;
}

test(`${driver}: a route change made on one server reaches the other's watchers with the same revision`, async (t) => {
  const [a, b] = await twoServers(t);
  await seedDeployment(a.ctx.store);
  const onA: RouteMessage[] = [];
  const onB: RouteMessage[] = [];
  const watchA = await a.feed.watch((m) => onA.push(m), 'edge-a');
  t.after(() => watchA.close());
  // A change while B has no edge: B must still count it, as the store does.
  await rename(a.ctx, 'first');
  const first = await a.feed.settledRevision();
  const watchB = await b.feed.watch((m) => onB.push(m), 'edge-b');
  t.after(() => watchB.close());
  const snapshotB = onB.shift()!;
  assert.equal(snapshotB.revision, first, 'a snapshot carries the store\'s revision');
  assert.equal(snapshotB.type === 'snapshot' && snapshotB.routes[0]?.slug, 'first');
  const before = first;

  await rename(a.ctx, 'renamed-on-a');
  const settled = await a.feed.settledRevision();
  assert.equal(settled, before + 1);
  await waitFor(() => onB.some((m) => m.revision === settled), { description: 'server B to stream server A\'s change' });
  const seenByB = onB.find((m) => m.revision === settled);
  assert.equal(seenByB?.type === 'upsert' && seenByB.route.slug, 'renamed-on-a');
  assert.deepEqual(onA.filter((m) => m.type !== 'snapshot').map((m) => m.revision), [first, settled]);

  // B acks through its own edge: a waiter on B for A's revision is released by B's edge.
  b.feed.ack('edge-b', settled);
  assert.equal(await b.feed.waitForEdges(settled, 5000), true);

  // A later watcher on B starts from the store's revision, not from B's own count.
  let lateSnapshot: RouteMessage | undefined;
  const late = await b.feed.watch((m) => { lateSnapshot ??= m; });
  late.close();
  assert.equal(lateSnapshot?.type, 'snapshot', 'a watcher gets its snapshot first');
  assert.equal(lateSnapshot.revision, settled);
});

test(`${driver}: changes made on both servers at once reach every watcher in one order, none older after newer`, async (t) => {
  const [a, b] = await twoServers(t);
  await seedDeployment(a.ctx.store);
  const seen: RouteMessage[][] = [[], []];
  const watchA = await a.feed.watch((m) => seen[0]!.push(m));
  t.after(() => watchA.close());
  // B's edge connects after a change, like a server started later.
  await rename(a.ctx, 'before-b');
  await a.feed.settledRevision();
  const watchB = await b.feed.watch((m) => seen[1]!.push(m));
  t.after(() => watchB.close());
  const start = seen[1]!.shift()!.revision;
  seen[0]!.splice(0);
  const rounds = 15;
  for (let i = 1; i <= rounds; i++) await Promise.all([rename(a.ctx, `a-${i}`), rename(b.ctx, `b-${i}`)]);
  const last = start + 2 * rounds;
  await waitFor(() => seen.every((list) => list.at(-1)?.revision === last), { description: 'both watchers to reach the last revision' });
  for (const list of seen) {
    // Every revision once, in order, on each server.
    assert.deepEqual(list.map((m) => m.revision), Array.from({ length: 2 * rounds }, (_, i) => start + i + 1));
  }
  const [row] = await a.ctx.store.db.select({ slug: deployments.slug }).from(deployments);
  for (const list of seen) {
    const final = list.at(-1)!;
    assert.equal(final.type === 'upsert' && final.route.slug, row!.slug, 'the last message holds the final state');
  }
});

test(`${driver}: a server whose missed changes were pruned sends a snapshot at the store's revision`, async (t) => {
  const [a, b] = await twoServers(t);
  await seedDeployment(a.ctx.store);
  const onB: RouteMessage[] = [];
  const watchB = await b.feed.watch((m) => onB.push(m));
  t.after(() => watchB.close());
  onB.splice(0); // the watcher's first snapshot
  // B hears nothing of this change (as if its listening connection were down), and the change
  // log no longer reaches back to it.
  await a.ctx.store.db.update(deployments).set({ slug: 'while-away' }).where(eq(deployments.id, SEED.deploymentId));
  let revision = 0;
  for (let i = 0; i < 3; i++) revision = await a.ctx.store.db.transaction((tx) => recordRouteChange(tx, SEED.deploymentId));
  await a.ctx.store.db.delete(routeChanges);
  // What a reconnect does.
  b.ctx.notifier.emit('resync', 'test');
  await waitFor(() => onB.find((m) => m.type === 'snapshot'), { description: 'a snapshot on B' });
  const snapshot = onB.find((m) => m.type === 'snapshot')!;
  assert.equal(snapshot.revision, revision);
  assert.equal(snapshot.type === 'snapshot' && snapshot.routes[0]?.slug, 'while-away');
});

test(`${driver}: a change whose notification is lost still reaches the other server's watcher (the backstop)`, async (t) => {
  const [a, b] = await twoServers(t);
  await seedDeployment(a.ctx.store);
  const onB: RouteMessage[] = [];
  const watchB = await b.feed.watch((m) => onB.push(m));
  t.after(() => watchB.close());
  // Committed and recorded, but no NOTIFY ever goes out (lost, or the server died first).
  const revision = await rename(a.ctx, 'unannounced', false);
  const seen = await waitFor(() => onB.find((m) => m.revision === revision), { timeoutMs: 5000, description: 'B to catch up without a notification' });
  assert.equal(seen.type === 'upsert' && seen.route.slug, 'unannounced');
});

test(`${driver}: a routing change is in the change log as soon as it commits, before any notification`, async (t) => {
  const { store, cleanup } = await openTestStore();
  t.after(cleanup);
  await seedDeployment(store);
  // A notifier that never delivers: as if the server crashed between the commit and the NOTIFY.
  class Mute extends Notifier {
    override emit(): void {}
  }
  const ctx: ServiceContext = { ...seedContext(store), notifier: new Mute() };
  const principal = { keyId: 'key_t', tenantId: SEED.tenantId, projectId: null, role: 'admin' as const };
  await new DeploymentService(ctx, new EnvService(ctx)).update(principal, SEED.deploymentId, { name: 'renamed' });
  const changes = await store.db.select().from(routeChanges).where(eq(routeChanges.deploymentId, SEED.deploymentId));
  assert.equal(changes.length, 1, 'the change was recorded with the state change');
});

test(`${driver}: settledRevision on one server includes a change another server made`, async (t) => {
  const [a, b] = await twoServers(t);
  await seedDeployment(a.ctx.store);
  const onA: RouteMessage[] = [];
  const watchA = await a.feed.watch((m) => onA.push(m), 'edge-a');
  t.after(() => watchA.close());
  // B's notification has not reached A (here: it never will).
  const revision = await rename(b.ctx, 'made-on-b', false);
  assert.equal(await a.feed.settledRevision(), revision);
  assert.ok(onA.some((m) => m.revision === revision), 'A streamed the change before answering');
});
