/**
 * `npm run bench -- scale`: route changes at 1,000 and 10,000 deployments. A template deployment
 * is published for real (9 versions of a tiny site) and cloned in bulk (bench/scale-rows.ts), so
 * each deployment is 10 routes: its stable host and `v1`…`v9--<slug>` preview hosts (100,000
 * routes at 10,000 deployments). A second edge (bench/scale-edge-process.ts) follows the same
 * server as `slipway up`'s own edge, in a process of its own whose event loop it measures. At
 * each size: publishes of a tiny site to cloned deployments (latency with `wait=true`, which
 * waits for both edges, and throughput at 4 at a time), the edge's request p99 idle and during
 * 50 back-to-back rollbacks, its event-loop delay, rollback → served on it; then the server's
 * RSS across more publishes and the edge starting from its saved table of 100,000 routes.
 */
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { snapshotPath, journalPath } from '../src/edge/route-state.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import { waitFor } from '../src/util/wait-for.js';
import { freePort, startPlatform, type Platform } from '../test/support/platform.js';
import { createTestDatabase, testDatabaseUrl } from '../test/support/test-store.js';
import { claimHostNames, cleanHostOf } from './host-cleanup.js';
import { createEdgeProbe, now } from './edge-probe.js';
import { cloneDeployments, cloneSlug } from './scale-rows.js';
import { startScaleEdge, type LoopDelay, type ScaleEdge } from './scale-edge.js';
import { log, section, type Context } from './section.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';
import { bytes, ms, percentile, summarize, table } from './stats.js';

const SIZES = [1000, 10_000] as const;
const TEMPLATE_VERSIONS = 9;
const PUBLISHES = 40;
const PUBLISH_CONCURRENCY = 4;
const MEMORY_PUBLISHES = 300;
const ROLLBACKS = 50;
const IDLE_MS = 2000;

/** The figures measured at one size. */
interface SizeResult {
  deployments: number;
  publishP50: number;
  publishP95: number;
  publishesPerSecond: number;
  idleP99: number;
  burstP99: number;
  rollbackP50: number;
  rollbackP95: number;
  idleDelay: LoopDelay;
  burstDelay: LoopDelay;
  edgeRss: number;
  serverRss: number;
}

const rssOf = async (pid: number): Promise<number> => {
  const line = (await readFile(`/proc/${pid}/status`, 'utf8')).split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.replace(/\D+/g, '') ?? 0) * 1024;
};

const page = (marker: string) => ({ files: { 'index.html': `<!doctype html><title>${marker}</title><p>${marker}</p>\n` } });

/** Sequential keep-alive requests to one host, timing each, until stopped. */
function startLoad(port: number, host: string): { take(): number[]; stop(): Promise<void> } {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let samples: number[] = [];
  let stopped = false;
  const one = () => new Promise<void>((resolve, reject) => {
    const t0 = now();
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        samples.push(now() - t0);
        resolve();
      });
    });
    req.on('error', reject);
    req.end();
  });
  const running = (async () => {
    while (!stopped) await one();
  })();
  return {
    take() {
      const out = samples;
      samples = [];
      return out;
    },
    async stop() {
      stopped = true;
      await running;
      agent.destroy();
    },
  };
}

/** `count` publishes of a tiny site, 4 at a time, to clones `offset + 1`… (wrapping at `deployments`). */
async function publishMany(platform: Platform, o: { count: number; offset: number; deployments: number }): Promise<{ latencies: number[]; seconds: number }> {
  const { count, offset, deployments } = o;
  const latencies: number[] = [];
  let next = 0;
  const t0 = now();
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const slug = cloneSlug(((offset + i) % deployments) + 1);
      const t = now();
      const { version } = await platform.client.publish(slug, page(`scale-${offset + i}`), { wait: true });
      if (version.state !== 'ready') throw new Error(`${slug} v${version.version_number} is ${version.state}`);
      latencies.push(now() - t);
    }
  };
  await Promise.all(Array.from({ length: PUBLISH_CONCURRENCY }, worker));
  return { latencies, seconds: (now() - t0) / 1000 };
}

/** What a rollback alternates between: two versions of `scale-roll` and the marker each serves. */
type RollTargets = Array<{ n: number; marker: string }>;

async function measureSize(platform: Platform, edge: ScaleEdge, o: { deployments: number; rollTo: RollTargets }): Promise<SizeResult> {
  const { deployments, rollTo } = o;
  const published = await publishMany(platform, { count: PUBLISHES, offset: 0, deployments });
  log(`  ${deployments}: ${PUBLISHES} publishes in ${published.seconds.toFixed(1)} s`);
  const load = startLoad(edge.port, `${cloneSlug(7)}.localhost`);
  try {
    await edge.resetDelay();
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleDelay = await edge.delay();
    const idle = load.take();
    const probe = createEdgeProbe({ port: edge.port, host: 'scale-roll.localhost', intervalMs: 1 });
    const rollbacks: number[] = [];
    await edge.resetDelay();
    try {
      for (let i = 0; i < ROLLBACKS; i++) {
        const target = rollTo[i % 2]!;
        const t0 = now();
        const stopPolling = new AbortController();
        const seen = probe.waitForContent('/', target.marker, { timeoutMs: 30_000, signal: stopPolling.signal });
        await platform.client.rollback('scale-roll', { to: target.n }).catch((err: unknown) => {
          stopPolling.abort();
          throw err;
        });
        rollbacks.push((await seen) - t0);
      }
    } finally {
      probe.close();
    }
    log(`  ${deployments}: ${ROLLBACKS} rollbacks done`);
    const burstDelay = await edge.delay();
    const burst = load.take();
    const s = summarize(published.latencies);
    const r = summarize(rollbacks);
    return {
      deployments, publishP50: s.p50, publishP95: s.p95, publishesPerSecond: PUBLISHES / published.seconds,
      idleP99: percentile(idle, 99), burstP99: percentile(burst, 99), rollbackP50: r.p50, rollbackP95: r.p95,
      idleDelay, burstDelay, edgeRss: (await edge.state()).rss, serverRss: await rssOf(await platform.serverPid()),
    };
  } finally {
    await load.stop();
  }
}

/** A database of the scale section's own: SLIPWAY_TEST_DATABASE_URL's server, or a throwaway one. */
async function scaleDatabase(ctx: Context): Promise<{ url: string } | { skipped: string }> {
  if (!testDatabaseUrl) return startThrowawayPostgres(ctx.cleanup);
  const db = await createTestDatabase();
  ctx.cleanup.add('drop the scale database', () => db.drop());
  return db;
}

/**
 * Runs the scale section on a platform of its own on PostgreSQL (where the issue measured it):
 * rows are added while the server runs, and its route feed sends the edges a snapshot within
 * its backstop (ROUTE_BACKSTOP_MS) of the revision moving.
 */
export async function scaleSection(ctx: Context): Promise<void> {
  await section(ctx, `12. Scale: route changes at ${SIZES.join(' and ')} deployments (${TEMPLATE_VERSIONS + 1} routes each), a second edge measured from inside`, async () => {
    const db = await scaleDatabase(ctx);
    if ('skipped' in db) {
      log(`  skipped: ${db.skipped}`);
      ctx.summary.push({ what: 'scale: route changes at 10,000 deployments', goal: '—', measured: `skipped: ${db.skipped}`, verdict: 'SKIP' });
      return;
    }
    const home = await mkdtemp(join(tmpdir(), 'slipway-bench-scale-'));
    ctx.cleanup.add('remove the scale home', () => rm(home, { recursive: true, force: true }));
    const names = claimHostNames('s');
    const env = { ...names.env, SLIPWAY_DATABASE_URL: db.url };
    ctx.cleanup.add('clean the host of the scale home', async () => {
      try {
        await cleanHostOf(home, env);
      } finally {
        names.release();
      }
    });
    const p = await startPlatform({ home, env });
    ctx.cleanup.add('stop the scale platform', () => p.stop());
    const store = await openPostgresStore({ url: db.url, maxConnections: 2 });
    ctx.cleanup.add('close the scale store', () => store.close());
    let edge: ScaleEdge | null = null;
    ctx.cleanup.add('stop the scale edge', () => edge?.stop());

    const template = await p.client.createDeployment({ slug: 'scale-template' });
    for (let n = 1; n <= TEMPLATE_VERSIONS; n++) await p.client.publish(template.slug, page(`template-${n}`), { wait: true });
    await p.client.createDeployment({ slug: 'scale-roll' });
    const rollTo = [1, 2].map((n) => ({ n, marker: `roll-${n}` }));
    for (const r of rollTo) await p.client.publish('scale-roll', page(r.marker), { wait: true });

    const edgeDir = join(ctx.work, 'scale-edge');
    await mkdir(edgeDir, { recursive: true });
    edge = await startScaleEdge({ port: await freePort(), stateDir: edgeDir, serverUrl: p.apiUrl, token: p.internalToken });
    const results: SizeResult[] = [];
    let cloned = 0;
    let memory: { before: number; after: number } | null = null;
    for (const size of SIZES) {
      const t0 = now();
      await cloneDeployments(store, template.id, { from: cloned + 1, to: size });
      log(`  cloned deployments ${cloned + 1}–${size} in ${ms(now() - t0)}`);
      cloned = size;
      const e = edge;
      const t1 = now();
      await waitFor(async () => (await e.state()).routes >= size + 2, { timeoutMs: 300_000, intervalMs: 50, description: `the scale edge serves ${size} deployments` });
      log(`  the scale edge serves ${size + 2} deployments ${ms(now() - t1)} after the rows were committed`);
      results.push(await measureSize(p, edge, { deployments: size, rollTo }));
      if (size === SIZES.at(-1)) {
        const before = await rssOf(await p.serverPid());
        await publishMany(p, { count: MEMORY_PUBLISHES, offset: PUBLISHES, deployments: size });
        memory = { before, after: await rssOf(await p.serverPid()) };
      }
    }

    // Start from the saved table with no server to reach: what an edge restart costs at 100,000 routes.
    await edge.stop();
    const files = { snapshot: (await stat(snapshotPath(edgeDir)).catch(() => null))?.size ?? 0, journal: (await stat(journalPath(edgeDir)).catch(() => null))?.size ?? 0 };
    edge = await startScaleEdge({ port: await freePort(), stateDir: edgeDir, serverUrl: 'http://127.0.0.1:1', token: 'unused' });
    const restart = { startMs: edge.startMs, startCpuMs: edge.startCpuMs, spawnMs: edge.spawnMs, routes: edge.startRoutes };
    await edge.stop();
    edge = null;

    report(results, { restart, files, memory });
    const big = results.at(-1)!;
    const small = results[0]!;
    ctx.summary.push(
      { what: 'route change: edge loop delay p99 at 10,000', goal: '≤ 1 ms', measured: ms(big.burstDelay.p99), verdict: big.burstDelay.p99 <= 1.05 ? 'PASS' : 'MISS' },
      { what: 'edge p99 during rollbacks / idle at 10,000', goal: '≤ 2×', measured: `${(big.burstP99 / big.idleP99).toFixed(2)}×`, verdict: big.burstP99 <= 2 * big.idleP99 ? 'PASS' : 'MISS' },
      { what: 'rollback → served p50 at 10,000', goal: '≤ 10 ms', measured: ms(big.rollbackP50), verdict: big.rollbackP50 <= 10 ? 'PASS' : 'MISS' },
      { what: 'publish p50 10,000 / 1,000', goal: '≤ 1.2×', measured: `${(big.publishP50 / small.publishP50).toFixed(2)}×`, verdict: big.publishP50 <= 1.2 * small.publishP50 ? 'PASS' : 'MISS' },
      {
        what: 'edge start with 100,000 saved routes', goal: '≤ 1000 ms', measured: `${ms(restart.startMs)} (CPU ${ms(restart.startCpuMs)})`,
        verdict: restart.startMs <= 1000 ? 'PASS' : 'MISS',
      },
    );
  });
}

function report(
  results: SizeResult[],
  o: { restart: { startMs: number; startCpuMs: number; spawnMs: number; routes: number }; files: { snapshot: number; journal: number }; memory: { before: number; after: number } | null },
): void {
  const { restart, files, memory } = o;
  const rows = [['deployments (routes)', 'publish p50', 'p95', 'publishes/s', 'edge req p99 idle', 'during rollbacks', 'rollback → served p50', 'p95',
    'edge loop delay p99 idle', 'during rollbacks', 'max', 'edge RSS', 'server RSS']];
  for (const r of results) {
    rows.push([
      `${r.deployments} (${r.deployments * (TEMPLATE_VERSIONS + 1)})`, ms(r.publishP50), ms(r.publishP95), r.publishesPerSecond.toFixed(1),
      ms(r.idleP99), ms(r.burstP99), ms(r.rollbackP50), ms(r.rollbackP95),
      ms(r.idleDelay.p99), ms(r.burstDelay.p99), ms(r.burstDelay.max), bytes(r.edgeRss), bytes(r.serverRss),
    ]);
  }
  log(table(rows));
  log(`  edge start from its saved table (${restart.routes} deployments, snapshot ${bytes(files.snapshot)}, journal ${bytes(files.journal)}): ` +
    `start() ${ms(restart.startMs)} (${ms(restart.startCpuMs)} of CPU), process spawn → listening ${ms(restart.spawnMs)} (Node and tsx start-up included)`);
  if (memory) {
    const perThousand = (memory.after - memory.before) / (MEMORY_PUBLISHES / 1000);
    log(`  server RSS across ${MEMORY_PUBLISHES} more publishes at ${SIZES.at(-1)}: ${bytes(memory.before)} → ${bytes(memory.after)} ` +
      `(${perThousand < 0 ? '-' : '+'}${bytes(Math.abs(perThousand))} per 1,000)`);
  }
}
