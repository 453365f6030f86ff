/**
 * `npm run bench -- memory`: what Slipway's own processes hold, started the way users start
 * them (a built copy, bench/built-copy.ts): the RSS and PSS of up (the supervisor), server,
 * edge and agent on an empty home and after 1,000 deployments with a small static site each
 * (real publishes), on PGlite and, when one is at hand, on PostgreSQL; the disk the home
 * takes; and the processes each way of starting `up` leaves resident above the supervisor.
 *
 * With BENCH_MEMORY_BASELINE=<a built checkout> (for instance `git archive` of the last commit,
 * linked to this node_modules and built with tsc) the same is measured for it in the same run,
 * so before and after compare on one machine at one moment.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mapConcurrent } from '../src/util/map-concurrent.js';
import { testDatabaseUrl, createTestDatabase } from '../test/support/test-store.js';
import { buildCopy } from './built-copy.js';
import { launchUp, type LaunchedUp, type Launcher } from './memory-launch.js';
import { processTree, roleOf, type ProcessMemory } from './process-tree.js';
import type { TargetLine } from './report.js';
import { log, section, type Context } from './section.js';
import { bytes, ms, summarize, table } from './stats.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';

const SITES = Number(process.env.BENCH_MEMORY_SITES ?? 1000);
const PUBLISH_CONCURRENCY = 8;
const MiB = 1024 * 1024;
/** The issue's budgets for the server with 1,000 deployments. */
const SERVER_RSS_GOAL = { pglite: 450 * MiB, postgres: 150 * MiB };

/** One reading of the tree: each Slipway process, and what sits between the launcher and `up`. */
interface Reading {
  processes: Array<{ role: string; proc: ProcessMemory }>;
  /** Processes from the launcher down to, not including, the supervisor. */
  above: ProcessMemory[];
}

async function readTree(launched: LaunchedUp): Promise<Reading> {
  const tree = await processTree(launched.pid);
  const server = tree.find((p) => roleOf(p) === 'server');
  if (server === undefined) throw new Error('no server process under up');
  const supervisor = tree.find((p) => p.pid === server.ppid)!;
  const above: ProcessMemory[] = [];
  for (let p = tree.find((q) => q.pid === supervisor.ppid); p !== undefined; p = tree.find((q) => q.pid === p!.ppid)) above.unshift(p);
  const processes = [{ role: 'up', proc: supervisor }];
  for (const p of tree) if (p.ppid === supervisor.pid) processes.push({ role: roleOf(p), proc: p });
  return { processes, above };
}

async function diskBytes(path: string): Promise<number> {
  const info = await lstat(path).catch(() => null);
  if (info === null) return 0;
  let total = info.blocks * 512;
  if (info.isDirectory()) for (const name of await readdir(path)) total += await diskBytes(join(path, name));
  return total;
}

/** Publishes `count` one-file sites, each its own deployment; returns each publish's time. */
const page = (i: number) => `<!doctype html><title>site ${i}</title><h1>site ${i}</h1>\n${'<p>Lorem ipsum dolor sit amet.</p>\n'.repeat(30)}`;

async function publishSites(launched: LaunchedUp, count: number): Promise<number[]> {
  return mapConcurrent(Array.from({ length: count }, (_, i) => i), PUBLISH_CONCURRENCY, async (i) => {
    const slug = `mem-${i}`;
    await launched.client.createDeployment({ slug });
    const started = performance.now();
    const { version } = await launched.client.publish(slug, { files: { 'index.html': page(i) } }, { wait: true });
    if (version.state !== 'ready') throw new Error(`${slug}: version ${version.state}`);
    return performance.now() - started;
  });
}

/**
 * Reads the tree once its memory has settled: a process that has just started is still loading
 * its modules (the agent is not waited for by `up`), so two readings 500 ms apart must agree
 * within 2 % (at most 15 s).
 */
async function settledTree(launched: LaunchedUp): Promise<Reading> {
  const total = (r: Reading) => r.processes.reduce((sum, p) => sum + p.proc.rssBytes, 0);
  let last = await readTree(launched);
  const deadline = Date.now() + 15_000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const next = await readTree(launched);
    if (Math.abs(total(next) - total(last)) <= total(last) * 0.02 || Date.now() > deadline) return next;
    last = next;
  }
}

const mb = (n: number | null) => (n === null ? '—' : `${(n / MiB).toFixed(0)} MB`);

function formatReading(label: string, reading: Reading): string[][] {
  return reading.processes.map(({ role, proc }, i) => [i === 0 ? label : '', role, String(proc.pid), mb(proc.rssBytes), mb(proc.pssBytes)]);
}

/** Measures one store: empty, then with SITES deployments. Returns the server's RSS after. */
async function measureStore(ctx: Context, options: { root: string; name: string; databaseUrl?: string }): Promise<number | null> {
  const { root, name, databaseUrl } = options;
  const launched = await launchUp({ root, launcher: 'node bin/slipway.mjs up', databaseUrl, cleanup: ctx.cleanup });
  try {
    const rows: string[][] = [['', 'process', 'pid', 'RSS', 'PSS']];
    rows.push(...formatReading('at start', await settledTree(launched)));
    const homeDisk = async () => ({
      blobs: await diskBytes(join(launched.home, 'blobs')), edge: await diskBytes(join(launched.home, 'edge')),
      db: databaseUrl ? 0 : await diskBytes(join(launched.home, 'db')),
    });
    const diskBefore = await homeDisk();
    const started = performance.now();
    const latencies = await publishSites(launched, SITES);
    const elapsed = performance.now() - started;
    const after = await settledTree(launched);
    rows.push(...formatReading(`${SITES} sites`, after));
    const s = summarize(latencies);
    const disk = await homeDisk();
    const added = disk.blobs + disk.edge + disk.db - (diskBefore.blobs + diskBefore.edge + diskBefore.db);
    log(`  ${name}: ${SITES} publishes in ${ms(elapsed)} (${(SITES / (elapsed / 1000)).toFixed(1)}/s; each p50 ${ms(s.p50)}, p95 ${ms(s.p95)})`);
    log(table(rows));
    log(`  disk: blobs ${bytes(disk.blobs)}, edge ${bytes(disk.edge)}${databaseUrl ? '' : `, db ${bytes(disk.db)}`}; ` +
      `${bytes(added / SITES)} added per site (one page of ${bytes(Buffer.byteLength(page(0)))})`);
    return after.processes.find((p) => p.role === 'server')?.proc.rssBytes ?? null;
  } finally {
    await launched.stop();
  }
}

/** Starts `up` each way and lists what is resident above the supervisor. */
async function measureLaunchers(ctx: Context, root: string): Promise<number | null> {
  const rows: string[][] = [['started with', 'above the supervisor (pid, RSS, command)', 'total']];
  let npmRunUpNodes: number | null = null;
  for (const launcher of ['node bin/slipway.mjs up', 'npm run up', 'npx slipway up'] as Launcher[]) {
    const launched = await launchUp({ root, launcher, cleanup: ctx.cleanup });
    try {
      const { above } = await readTree(launched);
      const total = above.reduce((sum, p) => sum + p.rssBytes, 0);
      const names = above.map((p) => `${p.pid} ${mb(p.rssBytes)} ${p.argv.slice(0, 3).join(' ').slice(0, 60)}`);
      rows.push([launcher, names.join('; ') || 'nothing', mb(total)]);
      // npm's own process is unavoidable when the user types `npm run up`; any other Node
      // process there is a wrapper.
      if (launcher === 'npm run up') npmRunUpNodes = above.filter((p) => /(^|\/)node$/.test(p.argv[0] ?? '') && !p.argv.some((a) => /npm-cli\.js$|(^|\/)npm$/.test(a))).length;
    } finally {
      await launched.stop();
    }
  }
  log(table(rows));
  return npmRunUpNodes;
}

/** What {@link measureMemory} found for the last tree it measured. */
export interface MemoryResult {
  pgliteRss: number | null;
  postgresRss: number | null;
  /** Node processes between `npm run up`'s npm and the supervisor. */
  wrappers: number | null;
}

/** Measures each built tree in turn (label, root), in this one run. */
export async function measureMemory(ctx: Context, roots: ReadonlyArray<readonly [string, string]>): Promise<MemoryResult> {
  const result: MemoryResult = { pgliteRss: null, postgresRss: null, wrappers: null };
  for (const [label, root] of roots) {
    log(`\n  ${label} (${root}), PGlite:`);
    result.pgliteRss = await measureStore(ctx, { root, name: 'PGlite' });
    const pg: { url: string; drop?: () => Promise<void> } | { skipped: string } = testDatabaseUrl
      ? await createTestDatabase() : await startThrowawayPostgres(ctx.cleanup);
    if ('url' in pg) {
      log(`\n  ${label}, PostgreSQL:`);
      try {
        result.postgresRss = await measureStore(ctx, { root, name: 'PostgreSQL', databaseUrl: pg.url });
      } finally {
        await pg.drop?.().catch(() => undefined);
      }
    } else {
      log(`  PostgreSQL skipped: ${pg.skipped}`);
    }
    log(`\n  ${label}: processes left resident above the supervisor, by how up is started (empty home):`);
    result.wrappers = await measureLaunchers(ctx, root);
  }
  return result;
}

/** The `memory` group. */
export async function memorySection(ctx: Context): Promise<void> {
  const result = await section(ctx, `Memory of Slipway's processes, started as users do (built copy), empty and with ${SITES} static sites`, async () => {
    const copy = await buildCopy(ctx.cleanup);
    if (copy.typeErrors) log(`  note: the working tree does not type-check; measured what tsc emitted anyway:\n${copy.typeErrors.split('\n').slice(-5).join('\n')}`);
    const baseline = process.env.BENCH_MEMORY_BASELINE;
    return measureMemory(ctx, [...(baseline ? [['baseline', baseline] as const] : []), ['this tree', copy.root] as const]);
  });
  const line = (what: string, goal: number, value: number | null | undefined): TargetLine => ({
    what, goal: `≤ ${mb(goal)}`, measured: mb(value ?? null),
    verdict: value === undefined ? 'ERROR' : value === null ? 'SKIP' : value <= goal ? 'PASS' : 'MISS',
  });
  ctx.summary.push(line(`server RSS, PGlite, ${SITES} sites`, SERVER_RSS_GOAL.pglite, result?.pgliteRss));
  ctx.summary.push(line(`server RSS, PostgreSQL, ${SITES} sites`, SERVER_RSS_GOAL.postgres, result?.postgresRss));
  const wrappers = result?.wrappers;
  ctx.summary.push({
    what: 'Node wrappers between npm run up and the supervisor', goal: '0', measured: wrappers === undefined || wrappers === null ? '—' : String(wrappers),
    verdict: wrappers === undefined ? 'ERROR' : wrappers === null ? 'SKIP' : wrappers === 0 ? 'PASS' : 'MISS',
  });
}
