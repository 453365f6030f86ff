/**
 * `npm run bench`: starts the real platform (`slipway up`: server, edge, agent) on free ports
 * in a temp SLIPWAY_HOME and measures, in one run,
 *   1. publish of a 1 MiB / 200-file static site until the edge serves it,
 *   2. rollback until the edge serves the old version again,
 *   3. dynamic publish → promoted, against the app's own boot time,
 *   4. failed requests under load during a publish, a cold rollback, kill -9 of a replica, of
 *      the server and of the agent,
 *   5. the time to recover from kill -9 of the only instance,
 *   6. edge req/s and p99 against nginx with wrk, static files,
 *   7. the edge as a reverse proxy against nginx, to the same upstream,
 *   8. API p99 for one deployment while another's publishes upload hostile archives, against a
 *      quiet baseline,
 *   9. a real Next.js app (create-next-app) published with no flags against `npm start`
 *      (bench/next-app-bench.ts; needs the npm registry),
 *  10. cold boot of an old version through its URL: first request → first 200 from it
 *      (bench/cold-boot-bench.ts),
 *  11. two servers on one PostgreSQL, each with an edge: a rollback through one → served by the
 *      other's edge (bench/multi-server-bench.ts; a throwaway PostgreSQL when root),
 *  12. HTTPS requests/s (kept-alive) and new handshakes/s of the edge against nginx with the same
 *      certificate and upstream (bench/https-bench.ts),
 * (6, 7 and 12 are skipped with a note when wrk or nginx is missing), then prints each target
 * with PASS or MISS. A miss is information: the exit code is 1 only when something could not
 * be measured. Everything started is stopped, even on Ctrl-C.
 *
 * `npm run bench -- dynamic proxy` runs only the named groups: static (1, 2), dynamic (3–5),
 * edge (6), proxy (7), https (12), uploads (8), next (9), wake (10), multi (11), memory (bench/memory-bench.ts);
 * mttr runs only 5 (part of dynamic); scale (bench/scale-bench.ts: route changes, publishes and
 * the edge at 1,000 and 10,000 deployments); gc (bench/gc-bench.ts: `slipway gc` on a home with
 * 1,000 versions); restart (bench/restart-bench.ts: failed requests while `up` restarts under
 * load, and a cold start of 100 apps); acme (bench/acme-bench.ts: domain verified → served over
 * HTTPS with a certificate from pebble).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { freePort, repoRoot } from '../test/support/platform.js';
import { startBenchPlatform } from './bench-platform.js';
import { cleanUpOnSignals, createCleanup } from './cleanup.js';
import { coldBootSection } from './cold-boot-bench.js';
import { measureDynamicApps } from './dynamic-bench.js';
import { MEASURE_SECONDS, WARMUP_SECONDS, measureEdge } from './edge-bench.js';
import { createEdgeProbe } from './edge-probe.js';
import { measureHostileUploads } from './hostile-upload.js';
import { measureMttrSections } from './mttr-sections.js';
import { measureNextApp } from './next-app-bench.js';
import { multiServerSection } from './multi-server-bench.js';
import { scaleSection } from './scale-bench.js';
import { restartSection } from './restart-bench.js';
import { gcSection } from './gc-bench.js';
import { acmeSection } from './acme-bench.js';
import { memorySection } from './memory-bench.js';
import { runCommand } from './procs.js';
import { POLL_INTERVAL_MS, measurePublishes, measureRollbacks, measureSiteDisk, type MarkedVersion } from './publish-bench.js';
import { measureProxy, PROXY_TARGETS } from './proxy-compare.js';
import { formatHttps, httpsRatio, measureHttps } from './https-bench.js';
import {
  TARGETS, edgeRatio, formatEdge, formatProxy, formatPublishes, formatRollbacks, formatSummary, isNoisy, proxyRatio, verdict, type TargetLine,
} from './report.js';
import { log, section, type Context } from './section.js';
import { createSiteFiles, createStaticFiles, siteBytes } from './site-fixture.js';
import { bytes, ms, summarize } from './stats.js';

const PUBLISH = { runs: 20, warmups: 2 };
const ROLLBACK = { runs: 20, warmups: 2 };
const GROUPS = ['static', 'dynamic', 'mttr', 'edge', 'proxy', 'https', 'uploads', 'next', 'wake', 'multi', 'memory', 'scale', 'gc', 'restart', 'acme'] as const;
const WRK_TARGETS = [{ label: '1 KiB', path: '/bench-1k.js' }, { label: '100 KiB', path: '/bench-100k.js' }];

async function publishAndRollback(ctx: Context): Promise<void> {
  const site = createSiteFiles();
  const kinds = new Map<string, number>();
  for (const path of site.keys()) kinds.set(extname(path).slice(1), (kinds.get(extname(path).slice(1)) ?? 0) + 1);
  const dep = await ctx.platform.client.createDeployment({ slug: 'bench-site' });
  const probe = createEdgeProbe({ port: ctx.platform.httpPort, host: new URL(dep.public_url).hostname, intervalMs: POLL_INTERVAL_MS });
  ctx.cleanup.add('close the edge probe', () => probe.close());

  const published = await section(
    ctx,
    `1. Publish → new content served by the edge (${site.size} files, ${bytes(siteBytes(site))}: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}; ${PUBLISH.warmups} warm-up publishes not counted)`,
    async () => {
      const result = await measurePublishes({
        client: ctx.platform.client, probe, deployment: dep.slug, siteDir: join(ctx.work, 'site'), site, runId: Date.now().toString(36), ...PUBLISH,
      });
      log(formatPublishes(result.samples, result.archiveBytes));
      return result;
    },
  );
  ctx.summary.push(latencyTarget('publish → served, p50', TARGETS.publishP50Ms, published?.samples.map((s) => s.totalMs)));

  const lastTwo: [MarkedVersion, MarkedVersion] | undefined = published?.lastTwo;
  const rolled = await section(ctx, `2. Rollback → old content served by the edge (${ROLLBACK.warmups} warm-up rollbacks not counted)`, async () => {
    if (lastTwo === undefined) throw new Error('needs the versions of section 1');
    const samples = await measureRollbacks({ client: ctx.platform.client, probe, deployment: dep.slug, versions: lastTwo, ...ROLLBACK });
    log(formatRollbacks(samples));
    return samples;
  });
  ctx.summary.push(latencyTarget('rollback → served, p50', TARGETS.rollbackP50Ms, rolled?.map((s) => s.totalMs)));

  await section(ctx, '2b. Disk a 20 KiB static site costs (blob store and the edge\'s folder; build logs included)', async () => {
    const samples = await measureSiteDisk({ client: ctx.platform.client, home: ctx.platform.home, siteDir: join(ctx.work, 'disk-site') });
    for (const s of samples) log(`  ${s.label.padEnd(30)} blobs +${bytes(s.blobBytes)}, edge +${bytes(s.edgeBytes)}, total +${bytes(s.blobBytes + s.edgeBytes)}`);
  });
}

/** A "p50 ≤ limit" summary line; ERROR when the section produced no samples. */
function latencyTarget(what: string, limitMs: number, samples: number[] | undefined): TargetLine {
  const p50 = samples === undefined ? null : summarize(samples).p50;
  return { what, goal: `≤ ${limitMs} ms`, measured: p50 === null ? '—' : ms(p50), verdict: p50 === null ? 'ERROR' : verdict(p50, limitMs, true) };
}

async function edgeVsNginx(ctx: Context): Promise<void> {
  const title = `6. Edge vs nginx, static files: wrk -t1 -c50, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s per run, no Accept-Encoding (raw bytes)`;
  const result = await section(ctx, title, async () => {
    const files = createStaticFiles();
    const dep = await ctx.platform.client.createDeployment({ slug: 'bench-static' });
    const { version } = await ctx.platform.client.publish(dep.slug, { files: Object.fromEntries(files) }, { wait: true });
    if (version.state !== 'ready') throw new Error(`the wrk site's version is ${version.state}: ${version.error?.message ?? ''}`);
    const host = new URL(dep.public_url).hostname;
    const probe = createEdgeProbe({ port: ctx.platform.httpPort, host, intervalMs: 20 });
    try {
      await probe.waitForContent('/bench-1k.js', files.get('bench-1k.js')!.toString('utf8').slice(0, 64), { timeoutMs: 30_000 });
    } finally {
      probe.close();
    }
    const measured = await measureEdge({
      upPid: ctx.platform.up.pid!, edgePort: ctx.platform.httpPort, host, files, targets: WRK_TARGETS, freePort, repoRoot, cleanup: ctx.cleanup, log,
    });
    log(formatEdge(measured));
    return measured;
  });
  for (const target of WRK_TARGETS) {
    const ratio = result ? edgeRatio(result.rows, target.label) : null;
    const why = result?.skipped ?? result?.nginxSkipped;
    ctx.summary.push({
      what: `edge/nginx req/s, ${target.label}`, goal: `≥ ${TARGETS.edgeVsNginx.toFixed(2)}×`,
      measured: ratio === null ? (why ? `skipped: ${why}` : '—') : `${ratio.toFixed(2)}×${isNoisy(result?.rows ?? [], target.label) ? ' (noisy, see above)' : ''}`,
      verdict: result === undefined ? 'ERROR' : verdict(ratio, TARGETS.edgeVsNginx, false),
    });
  }
}

async function proxyVsNginx(ctx: Context): Promise<void> {
  const title = `7. Edge vs nginx as a reverse proxy to one Node upstream: wrk -t1 -c50, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s per run`;
  const result = await section(ctx, title, async () => {
    const measured = await measureProxy({ cleanup: ctx.cleanup, log });
    log(formatProxy(measured));
    return measured;
  });
  const goal = TARGETS.proxyVsNginxReference;
  for (const target of PROXY_TARGETS) {
    const ratio = result ? proxyRatio(result, target.label) : null;
    const p99 = result ? proxyRatio(result, target.label, true) : null;
    ctx.summary.push({
      what: `edge/nginx proxy req/s, ${target.label}`, goal: `≥ ${goal.toFixed(2)}× (reference)`,
      measured: ratio === null ? (result?.skipped ? `skipped: ${result.skipped}` : '—') : `${ratio.toFixed(2)}× (p99 ${p99?.toFixed(2) ?? '—'}×)`,
      verdict: result === undefined ? 'ERROR' : verdict(ratio, goal, false),
    });
  }
}

/** HTTPS goal: kept-alive requests at least half of nginx's (issue 11); handshakes are reported. */
const HTTPS_KEPT_ALIVE_GOAL = 0.5;

async function httpsVsNginx(ctx: Context): Promise<void> {
  const title = `12. Edge vs nginx over HTTPS (same certificate, same Node upstream): wrk -t1 -c50, kept-alive and Connection: close, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s per run`;
  const result = await section(ctx, title, async () => {
    const measured = await measureHttps({ cleanup: ctx.cleanup, log });
    log(formatHttps(measured));
    return measured;
  });
  for (const mode of ['kept-alive', 'new handshakes'] as const) {
    const ratio = result ? httpsRatio(result, mode) : null;
    const goal = mode === 'kept-alive' ? HTTPS_KEPT_ALIVE_GOAL : null;
    ctx.summary.push({
      what: `edge/nginx HTTPS req/s, ${mode}`, goal: goal === null ? 'reported' : `≥ ${goal.toFixed(2)}×`,
      measured: ratio === null ? (result?.skipped ? `skipped: ${result.skipped}` : '—') : `${ratio.toFixed(2)}×`,
      verdict: result === undefined ? 'ERROR' : goal === null ? (ratio === null ? 'SKIP' : 'PASS') : verdict(ratio, goal, false),
    });
  }
}

const loadAverage = () => loadavg().map((n) => n.toFixed(2)).join(' ');

async function header(): Promise<string> {
  const commit = (await runCommand(['git', '-C', repoRoot, 'rev-parse', '--short', 'HEAD']).catch(() => 'unknown')).trim();
  const store = process.env.SLIPWAY_TEST_DATABASE_URL ? 'PostgreSQL (SLIPWAY_TEST_DATABASE_URL)' : 'PGlite';
  return `Slipway bench — ${new Date().toISOString()}, commit ${commit} (plus any uncommitted changes), node ${process.version}, ` +
    `${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown'}), store ${store}\n` +
    `Load average ${loadAverage()}. Compare ratios from the same run only: absolute figures move with the machine and its neighbours.`;
}

/** The groups named on the command line, or all. */
function chosenGroups(): Set<string> {
  const named = process.argv.slice(2);
  const unknown = named.filter((n) => !(GROUPS as readonly string[]).includes(n));
  if (unknown.length > 0) throw new Error(`unknown bench group(s) ${unknown.join(', ')}: choose from ${GROUPS.join(', ')}`);
  return new Set(named.length > 0 ? named : GROUPS);
}

async function main(): Promise<void> {
  const groups = chosenGroups();
  const cleanup = createCleanup(log);
  cleanUpOnSignals(cleanup, log);
  const summary: TargetLine[] = [];
  try {
    log(await header());
    log('\n› starting slipway up (server, edge, agent) in a temp SLIPWAY_HOME …');
    const platform = await startBenchPlatform(cleanup, log);
    const work = await mkdtemp(join(tmpdir(), 'slipway-bench-'));
    cleanup.add('remove the bench dir', () => rm(work, { recursive: true, force: true }));
    log(`  up pid ${platform.up.pid}, API ${platform.apiUrl}, edge http://127.0.0.1:${platform.httpPort}`);
    const ctx: Context = { platform, work, cleanup, summary };
    if (groups.has('static')) await publishAndRollback(ctx);
    // Before the wrk sections: they pin the platform's edge to one CPU until the end.
    if (groups.has('dynamic')) await measureDynamicApps(ctx);
    else if (groups.has('mttr')) await measureMttrSections(ctx);
    if (groups.has('wake')) await coldBootSection(ctx);
    if (groups.has('edge')) await edgeVsNginx(ctx);
    if (groups.has('proxy')) await proxyVsNginx(ctx);
    if (groups.has('https')) await httpsVsNginx(ctx);
    if (groups.has('uploads')) await measureHostileUploads(ctx);
    if (groups.has('next')) await measureNextApp(ctx);
    if (groups.has('multi')) await multiServerSection(ctx);
    if (groups.has('scale')) await scaleSection(ctx);
    if (groups.has('memory')) await memorySection(ctx);
    if (groups.has('restart')) await restartSection(ctx);
    if (groups.has('gc')) await gcSection(ctx);
    if (groups.has('acme')) await acmeSection(ctx);
  } catch (err) {
    log(cleanup.started ? '\ninterrupted' : `\nbench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    log('\nSummary (a MISS is a finding, not a failure; the exit code only says whether everything could be measured)');
    log(formatSummary(summary));
    log('\n› cleaning up …');
    await cleanup.run();
    log(`done (exit ${process.exitCode ?? 0})`);
  }
}

await main();
