import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { seedContext, SEED } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { createFsBlobStore } from '../blobs/fs/fs-blob-store.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { deployments, events, projects, rings, runtimeInstances, services, tenants, versions } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { DEFAULT_HEALTH_CHECK, DEFAULT_RESOURCES } from '../core/runtime.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import type { EngineApi, EngineRequest } from '../runtime/docker/engine-api.js';
import { waitFor } from '../util/wait-for.js';
import type { ServiceContext } from './context.js';
import { markReleasesCollected } from './gc/collect-release.js';
import { findCollectable } from './gc/retention.js';
import { GcService } from './gc-service.js';
import { RouteFeed } from './route-feed.js';
import { currentRouteRevision } from './route-log.js';

const DAY = 24 * 60 * 60 * 1000;
const HOUR = 60 * 60 * 1000;
const NOW = Date.now();

interface Fixture {
  store: Store;
  blobs: BlobStore;
  ctx: ServiceContext;
  dir: string;
  /** sha256 of the blob `name` put in the fixture. */
  sha: Map<string, string>;
  age(sha256: string, ms: number): Promise<void>;
}

async function withFixture(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const { store, cleanup } = await openTestStore();
  const dir = await makeTempDir('gc-service-test-');
  try {
    const blobs = await createFsBlobStore({ root: join(dir, 'blobs') });
    const base = seedContext(store);
    const ctx = { ...base, blobs, config: { ...base.config, workDir: join(dir, 'work'), logDir: join(dir, 'build-logs'), uploadDir: join(dir, 'uploads') } } as ServiceContext;
    const sha = new Map<string, string>();
    const age = async (sha256: string, ms: number) => {
      const then = new Date(Date.now() - ms);
      await utimes(join(dir, 'blobs', 'sha256', sha256.slice(0, 2), sha256), then, then);
    };
    await fn({ store, blobs, ctx, dir, sha, age });
  } finally {
    await cleanup();
    await removeDir(dir);
  }
}

/**
 * Deployment `app` (dep_t): versions 1–10 ready, 11 building (its release already stored, as a
 * dynamic rollout has), 12 queued, 13 failed. Version 2 is active again after a rollback 5 days
 * ago; 4 was promoted 50 days ago, 5 40 days ago (so active when the 30-day window began), 6 10
 * days ago; version 1 runs a woken instance. Version 7's release has the same bytes as 10's.
 * Deployment `gone` (deleted): versions 1–3 ready, its ring still on 3.
 */
async function seedHistory(f: Fixture): Promise<void> {
  const { store, blobs, sha } = f;
  const put = async (name: string, content = name) => {
    const info = await blobs.put(Buffer.from(content));
    sha.set(name, info.sha256);
    return info.sha256;
  };
  const now = new Date(NOW);
  await store.db.insert(tenants).values({ id: SEED.tenantId, name: 't', slug: 'default', displayName: 't', createdAt: now });
  await store.db.insert(projects).values({ id: SEED.projectId, tenantId: SEED.tenantId, name: 'p', createdAt: now });
  for (const [id, slug, deletedAt] of [[SEED.deploymentId, 'app', null], ['dep_gone', 'gone', now]] as const) {
    await store.db.insert(deployments).values({
      id, tenantId: SEED.tenantId, projectId: SEED.projectId, slug, name: slug, spaFallback: false, nextVersionNumber: 1, createdAt: now, updatedAt: now, deletedAt,
    });
  }
  const source = await put('source');
  const version = async (dep: string, n: number, v: { state: string; artifact: string | null }) => {
    await store.db.insert(versions).values({
      id: `ver_${dep === SEED.deploymentId ? '' : 'g'}${n}`, tenantId: SEED.tenantId, deploymentId: dep, versionNumber: n,
      kind: 'static', state: v.state, sourceSha256: source, artifactSha256: v.artifact, buildLogSha256: await put(`log ${dep} ${n}`),
      requestedKind: 'auto', runtimeOptions: {}, env: {}, attempts: 1, createdBy: 'key_t', createdAt: now,
    });
  };
  for (let n = 1; n <= 10; n++) await version(SEED.deploymentId, n, { state: 'ready', artifact: await put(`release ${n}`, n === 7 ? 'release 10' : `release ${n}`) });
  await version(SEED.deploymentId, 11, { state: 'building', artifact: await put('release 11') });
  await version(SEED.deploymentId, 12, { state: 'queued', artifact: null });
  await version(SEED.deploymentId, 13, { state: 'failed', artifact: null });
  for (let n = 1; n <= 3; n++) await version('dep_gone', n, { state: 'ready', artifact: await put(`gone release ${n}`) });
  await store.db.insert(rings).values([
    { id: SEED.ringId, deploymentId: SEED.deploymentId, name: 'production', activeVersionId: 'ver_2', updatedAt: now },
    { id: 'rng_gone', deploymentId: 'dep_gone', name: 'production', activeVersionId: 'ver_g3', updatedAt: now },
  ]);
  const pointer = [['a1', 'deployment.promoted', 'ver_4', 50], ['a2', 'deployment.promoted', 'ver_5', 40], ['a3', 'deployment.promoted', 'ver_6', 10], ['a4', 'deployment.rolled_back', 'ver_2', 5]] as const;
  for (const [id, type, versionId, daysAgo] of pointer) {
    await store.db.insert(events).values({
      id: `evt_${id}`, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionId, type, actor: 'system', reason: 'seeded', data: {},
      createdAt: new Date(NOW - daysAgo * DAY),
    });
  }
  await store.db.insert(services).values({
    id: SEED.serviceId, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, type: 'web', desiredReplicas: 1,
    health: DEFAULT_HEALTH_CHECK, resources: DEFAULT_RESOURCES, crashLoopBudget: 5, drainTimeoutMs: 1000, createdAt: now, updatedAt: now,
  });
  await store.db.insert(runtimeInstances).values({
    id: 'rti_woken', tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, serviceId: SEED.serviceId, versionId: 'ver_1',
    hostId: 'local', desired: 'running', state: 'healthy', reason: 'woken', restartCount: 0, failFast: false, onDemand: true, createdAt: now, updatedAt: now,
  });
}

const policy = { keepVersions: 3, keepDays: 30 };
const gcConfig = { ...policy, graceMs: HOUR, intervalMs: 0, firstRunDelayMs: 0, buildCacheMaxBytes: 0 };

test('retention keeps the newest N, the active, the running and whatever was active in the last D days; collects the rest', () => withFixture(async (f) => {
  await seedHistory(f);
  const ids = (await findCollectable(f.store.db, policy, { now: new Date(NOW), failedGraceMs: HOUR })).map((v) => v.id).sort();
  // 8–10 newest; 2 active; 1 running; 5 active when the window began; 6 promoted inside it.
  // Building, queued and failed versions are never candidates. The deleted deployment keeps only its ring's version.
  assert.deepEqual(ids, ['ver_3', 'ver_4', 'ver_7', 'ver_g1', 'ver_g2']);
  const shorter = (await findCollectable(f.store.db, { keepVersions: 1, keepDays: 0 }, { now: new Date(NOW), failedGraceMs: HOUR })).map((v) => v.id);
  assert.ok(shorter.includes('ver_5') && shorter.includes('ver_6') && shorter.includes('ver_9'));
  assert.ok(!shorter.includes('ver_2') && !shorter.includes('ver_1') && !shorter.includes('ver_10'));
}));

test('a dry run says what would go and deletes nothing; a run collects releases, sweeps old unreferenced blobs and keeps the rest', () => withFixture(async (f) => {
  await seedHistory(f);
  const orphanOld = (await f.blobs.put(Buffer.from('nothing names me'))).sha256;
  const orphanNew = (await f.blobs.put(Buffer.from('a publish is about to name me'))).sha256;
  for await (const b of f.blobs.list()) if (b.sha256 !== orphanNew) await f.age(b.sha256, 2 * HOUR);
  // Scratch a crash left: the tree of a version long built, and the tree of one building now.
  await mkdir(join(f.dir, 'work', 'ver_3'), { recursive: true });
  await writeFile(join(f.dir, 'work', 'ver_3', 'left.txt'), 'x'.repeat(100));
  await mkdir(join(f.dir, 'work', 'ver_11'), { recursive: true });
  const gc = new GcService(f.ctx, gcConfig);

  const dry = await gc.run({ dryRun: true });
  assert.equal(dry.dry_run, true);
  assert.deepEqual(dry.versions.map((v) => v.id).sort(), ['ver_3', 'ver_4', 'ver_7', 'ver_g1', 'ver_g2']);
  // Releases 3, 4, g1, g2 and the old orphan; release 7 is release 10's bytes, which stay.
  assert.equal(dry.blobs.count, 5);
  assert.equal(dry.scratch.entries, 1);
  assert.equal(await f.blobs.has(orphanOld), true, 'a dry run deletes nothing');
  assert.equal(await f.blobs.has(f.sha.get('release 3')!), true);
  const rows = await f.store.db.select().from(versions).where(eq(versions.id, 'ver_3'));
  assert.equal(rows[0]!.artifactCollectedAt, null);

  const real = await gc.run();
  assert.deepEqual(real.versions.map((v) => v.id).sort(), dry.versions.map((v) => v.id).sort());
  assert.deepEqual(real.blobs, dry.blobs);
  for (const gone of ['release 3', 'release 4', 'gone release 1', 'gone release 2']) assert.equal(await f.blobs.has(f.sha.get(gone)!), false, gone);
  assert.equal(await f.blobs.has(orphanOld), false);
  for (const kept of ['release 10', 'release 1', 'release 2', 'release 5', 'release 6', 'release 11', 'gone release 3', 'source', 'log dep_t 3']) {
    assert.equal(await f.blobs.has(f.sha.get(kept)!), true, kept);
  }
  assert.equal(await f.blobs.has(orphanNew), true, 'younger than the grace time');
  assert.deepEqual(await readdir(join(f.dir, 'work')), ['ver_11']);
  const ready = await f.store.db.select({ id: versions.id }).from(versions).where(eq(versions.state, 'ready'));
  const marked = (await f.store.db.select().from(versions)).filter((v) => v.artifactCollectedAt !== null).map((v) => v.id).sort();
  assert.deepEqual(marked, ['ver_3', 'ver_4', 'ver_7', 'ver_g1', 'ver_g2']);
  assert.equal(ready.length, 13, 'records stay, still ready');
  const recorded = await f.store.db.select().from(events).where(eq(events.type, 'version.artifact_collected'));
  assert.equal(recorded.length, 5);

  const again = await gc.run();
  assert.deepEqual([again.versions.length, again.blobs.count], [0, 0], 'nothing more to do');
}));

test('a release is not collected when its version became active, or got a live instance, after it was chosen', () => withFixture(async (f) => {
  await seedHistory(f);
  const chosen = await findCollectable(f.store.db, policy, { now: new Date(NOW), failedGraceMs: HOUR });
  const v3 = chosen.find((v) => v.id === 'ver_3')!;
  const v4 = chosen.find((v) => v.id === 'ver_4')!;
  // A rollback to 3 and a wake of 4 land between the choice and the collection.
  await f.store.db.update(rings).set({ activeVersionId: 'ver_3' }).where(eq(rings.id, SEED.ringId));
  await f.store.db.insert(runtimeInstances).values({
    id: 'rti_4', tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, serviceId: SEED.serviceId, versionId: 'ver_4',
    hostId: 'local', desired: 'running', state: 'pending', reason: 'woken', restartCount: 0, failFast: true, onDemand: true, createdAt: new Date(), updatedAt: new Date(),
  });
  const v7 = chosen.find((v) => v.id === 'ver_7')!;
  assert.deepEqual(await markReleasesCollected(f.store.db, [v3, v4, v7], 'test'), ['ver_7']);
  assert.deepEqual(await markReleasesCollected(f.store.db, [v7], 'test'), [], 'once');
}));

test('a failed version\'s stored release is collected once it ended longer ago than the grace; its snapshot and build log stay', () => withFixture(async (f) => {
  await seedHistory(f);
  const failed = async (n: number, endedMsAgo: number) => {
    const release = (await f.blobs.put(Buffer.from(`failed release ${n}`))).sha256;
    f.sha.set(`failed release ${n}`, release);
    const log = (await f.blobs.put(Buffer.from(`failed log ${n}`))).sha256;
    f.sha.set(`failed log ${n}`, log);
    await f.store.db.insert(versions).values({
      id: `ver_${n}`, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: n, kind: 'dynamic', state: 'failed',
      sourceSha256: f.sha.get('source')!, artifactSha256: release, buildLogSha256: log, requestedKind: 'auto', runtimeOptions: {}, env: {},
      attempts: 1, createdBy: 'key_t', createdAt: new Date(NOW - endedMsAgo - 1000), finishedAt: new Date(NOW - endedMsAgo),
    });
  };
  await failed(14, 2 * HOUR);
  await failed(15, 0);
  const ids = (await findCollectable(f.store.db, policy, { now: new Date(NOW), failedGraceMs: HOUR })).map((v) => v.id);
  assert.ok(ids.includes('ver_14'), 'ended two hours ago');
  assert.ok(!ids.includes('ver_15'), 'ended inside the grace');
  assert.ok(!ids.includes('ver_13'), 'stored no release');

  for await (const b of f.blobs.list()) await f.age(b.sha256, 2 * HOUR);
  await new GcService(f.ctx, gcConfig).run();
  assert.equal(await f.blobs.has(f.sha.get('failed release 14')!), false);
  assert.equal(await f.blobs.has(f.sha.get('failed release 15')!), true);
  for (const kept of ['failed log 14', 'source']) assert.equal(await f.blobs.has(f.sha.get(kept)!), true, kept);
  const [v14] = await f.store.db.select().from(versions).where(eq(versions.id, 'ver_14'));
  assert.equal(v14!.state, 'failed');
  assert.notEqual(v14!.artifactCollectedAt, null);
}));

test('collecting a ready version\'s release records a route change, and the routes stop listing it', () => withFixture(async (f) => {
  await seedHistory(f);
  const before = await currentRouteRevision(f.store.db);
  const [v3] = (await findCollectable(f.store.db, policy, { now: new Date(NOW), failedGraceMs: HOUR })).filter((v) => v.id === 'ver_3');
  const feed = new RouteFeed(f.ctx);
  try {
    const listed = async () => (await feed.load([SEED.deploymentId]))[0]!.versions.map((v) => v.version_id);
    assert.ok((await listed()).includes('ver_3'));
    assert.deepEqual(await markReleasesCollected(f.store.db, [v3!], 'test'), ['ver_3']);
    assert.equal(await currentRouteRevision(f.store.db), before + 1, 'the change is in the route log');
    assert.ok(!(await listed()).includes('ver_3'), 'no preview host for a collected release');
  } finally {
    feed.stop();
  }
}));

// up kills a server that has not exited 10 s after SIGTERM, before its store closes: stopping
// must not wait out a Docker prune (up to 10 minutes) or an image removal.
test('stop() during a Docker part that hangs returns promptly, and the report says the engine part was cut short', () => withFixture(async (f) => {
  const hanging: EngineRequest[] = [];
  // An engine that takes every request and answers none, as a long prune does; like the real
  // client it gives up only when the request's signal aborts.
  const docker: EngineApi = {
    json: (request) => new Promise((_resolve, reject) => {
      hanging.push(request);
      request.signal?.addEventListener('abort', () => reject(request.signal?.reason as Error), { once: true });
    }),
    stream: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
  const ctx = { ...f.ctx, config: { ...f.ctx.config, docker } } as ServiceContext;
  const gc = new GcService(ctx, { ...gcConfig, intervalMs: HOUR });
  const manual = gc.run();
  gc.start();
  await waitFor(() => hanging.length > 0, { description: 'the Docker part to send its first request' });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'still waiting'>((resolve) => { timer = setTimeout(() => resolve('still waiting'), 8_000); });
  try {
    assert.equal(await Promise.race([gc.stop().then(() => 'stopped' as const), deadline]), 'stopped');
    const report = await Promise.race([manual, deadline]);
    assert.notEqual(report, 'still waiting');
    assert.match((report as { docker_error?: string }).docker_error ?? '', /stopping/);
  } finally {
    clearTimeout(timer);
  }
}));
