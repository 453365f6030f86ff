/**
 * Section 9 of `npm run bench` (group `next`): a real Next.js server app, made by
 * create-next-app from the npm registry (test/support/real-projects.ts), published with no
 * flags (detected: standalone output, only `.next/standalone` packaged) against the same
 * source published the old way in the same run, `run_command: "npm start"` (`next start` from
 * the whole tree, node_modules included). Each publish is split at the version's timestamps,
 * its events and its build log: install and build (the log's `finished in` lines), packaging
 * (the rest of started → `rollout.deploying`: unpack, package, store), start (`rollout.deploying`
 * → first `instance.healthy`) and the issue's "promoted to first response": from
 * `rollout.deploying` (the built version is chosen to go live) to the edge's first 200 for `/`,
 * polled from that moment on, so the edge's switch and the app's first render are counted too.
 * Health settings are the defaults (a publish with no flags), so the time the agent takes to
 * notice a started app is counted as a user gets it. The first response is split at the
 * rollout's events (assignment, starting → healthy, healthy → promoted, promoted → first 200)
 * and set against the release's own boot without the platform (bench/next-boot.ts), so what
 * the platform adds is seen apart from what Next itself takes. Prints figures and before/after ratios;
 * the summary compares them with the issue's goals (packaging under 3 s, first response under
 * 2 s) without failing the run.
 */
import { join } from 'node:path';
import type { SlipwayClient } from '../src/sdk/index.js';
import { freePort } from '../test/support/platform.js';
import { nextApp } from '../test/support/real-projects.js';
import { publishProject } from '../test/support/real-projects-publish.js';
import { createEdgeProbe } from './edge-probe.js';
import { copyNextRelease, measureNextBoot, type NextBootSamples } from './next-boot.js';
import type { TargetLine } from './report.js';
import { verdict } from './report.js';
import { log, section, type Context } from './section.js';
import { bytes, ms, summarize, table } from './stats.js';

/** The issue's goals for a Next.js app published with no flags. */
export const NEXT_TARGETS = { packageMs: 3000, firstResponseMs: 2000 } as const;

/**
 * Only a short drain, so the run ends sooner: health checks keep their defaults (every 1 s),
 * since how soon a started app is seen is part of what a user waits for.
 */
const SETTINGS = ['--set', 'drain_timeout_ms=2000'];
/** Time resolution of the first-response measurement (edge polls while the version starts). */
const EDGE_POLL_MS = 10;
/**
 * The release's own boot, outside the platform: the run command as detected (js-apps.ts), and
 * with `exec` (no shell left between the instance and node), each measured `BOOT_RUNS` times.
 */
const BOOT_COMMANDS = { 'as detected': 'HOSTNAME=0.0.0.0 node server.js', 'with exec': 'HOSTNAME=0.0.0.0 exec node server.js' };
const BOOT_RUNS = 5;

/** One publish of the app, split into phases (milliseconds). */
interface NextSample {
  variant: string;
  totalMs: number;
  installMs: number;
  buildMs: number;
  packageMs: number;
  startMs: number;
  /** The start split at the events: deploying → the agent's `instance.starting` (assignment). */
  assignMs: number;
  /** `instance.starting` → `instance.healthy`: release fetched, sandbox, the app's boot, the probe. */
  bootMs: number;
  /** `instance.healthy` → `deployment.promoted`: the server hears of it and switches the route. */
  promoteMs: number;
  /** `deployment.promoted` → the edge's first 200 (the edge's switch and the first render). */
  servedMs: number;
  /** Next's own `Ready in …` line in the instance log: its boot as it counts it. */
  nextReadyMs: number;
  /** `instance.starting` → the instance log's first line (release, sandbox, node's start-up). */
  firstLogMs: number;
  /** `rollout.deploying` → the edge's first 200 for `/` (the issue's promoted → first response). */
  firstResponseMs: number;
  files: number;
  unpackedBytes: number;
  releaseBytes: number;
}

const at = (iso: string | null | undefined): number => (iso ? Date.parse(iso) : Number.NaN);
const logged = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? Number.NaN);

/** One variant of the publish: the project, its deployment and the CLI flags that make it. */
interface Variant {
  dir: string;
  slug: string;
  /** How the report names it. */
  name: string;
  extra: string[];
}

async function publishOnce(ctx: Context, { dir, slug, name: variant, extra }: Variant): Promise<NextSample> {
  const { client } = ctx.platform;
  const stop = new AbortController();
  const watch = firstResponse(ctx, slug, stop.signal);
  watch.catch(() => undefined);
  let published: Awaited<ReturnType<typeof publishProject>>;
  try {
    published = await publishProject(ctx.platform, { dir, slug, extra: [...SETTINGS, ...extra] });
  } catch (err) {
    stop.abort();
    throw err;
  }
  const v = published.result.version;
  if (v.state !== 'ready' || !published.result.promoted) {
    stop.abort();
    throw new Error(`${variant}: ${v.state} ${v.error?.message ?? ''}\n${published.log.slice(-4000)}`);
  }
  const seen = await watch;
  const { deploying, starting, healthy, promoted } = await rolloutTimes(client, slug, v.id);
  const lines = (await client.getLogs(slug, { limit: 50 }).catch(() => [])).filter((l) => l.version_id === v.id);
  const ready = lines.map((l) => /Ready in ([\d.]+)\s*(m?s)/.exec(l.line)).find((m) => m !== null);
  // npm ci/install's own line, then the build command's (build-steps.ts).
  const installMs = logged(published.log, /\[slipway\] npm (?:ci|install)[^\n]* finished in (\d+) ms/);
  const buildMs = logged(published.log, /\[slipway\] build finished in (\d+) ms/);
  const packaged = /packaged (\d+) files \((\d+) bytes unpacked, (\d+) bytes/.exec(published.log);
  return {
    variant, totalMs: published.ms, installMs, buildMs,
    packageMs: deploying - at(v.started_at) - installMs - buildMs,
    startMs: healthy - deploying,
    nextReadyMs: ready ? Number(ready[1]) * (ready[2] === 's' ? 1000 : 1) : Number.NaN,
    firstLogMs: lines.length > 0 ? Math.min(...lines.map((l) => at(l.time))) - starting : Number.NaN,
    assignMs: starting - deploying, bootMs: healthy - starting, promoteMs: promoted - healthy, servedMs: seen - promoted,
    firstResponseMs: seen - deploying,
    files: Number(packaged?.[1] ?? Number.NaN), unpackedBytes: Number(packaged?.[2] ?? Number.NaN), releaseBytes: Number(packaged?.[3] ?? Number.NaN),
  };
}

/**
 * Waits for the deployment's `rollout.deploying` (polling its events; the deployment may not
 * exist yet), then polls the edge for `/` until it answers 200 with a page. Returns the
 * edge probe's `now()` at that answer. Starting at the rollout, not before, keeps the polls
 * from competing with the build for the CPU.
 */
async function firstResponse(ctx: Context, slug: string, signal: AbortSignal): Promise<number> {
  const { client, httpPort } = ctx.platform;
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    signal.throwIfAborted();
    if (Date.now() > deadline) throw new Error(`${slug}: no rollout.deploying event within 15 min`);
    const events = await client.listEvents(slug, { limit: 20 }).then((p) => p.data, () => []);
    if (events.some((e) => e.type === 'rollout.deploying')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const probe = createEdgeProbe({ port: httpPort, host: `${slug}.localhost`, intervalMs: EDGE_POLL_MS });
  try {
    return await probe.waitForContent('/', '<html', { timeoutMs: 120_000, signal });
  } finally {
    probe.close();
  }
}

async function rolloutTimes(client: SlipwayClient, slug: string, versionId: string): Promise<Record<'deploying' | 'starting' | 'healthy' | 'promoted', number>> {
  const events = (await client.listEvents(slug, { limit: 100 })).data.filter((e) => e.version_id === versionId);
  const first = (type: string) => Math.min(...events.filter((e) => e.type === type).map((e) => at(e.created_at)));
  return { deploying: first('rollout.deploying'), starting: first('instance.starting'), healthy: first('instance.healthy'), promoted: first('deployment.promoted') };
}

const ratio = (before: number, after: number): string => (Number.isFinite(before / after) && after > 0 ? `${(before / after).toFixed(1)}×` : '—');
const mib = (n: number): string => (Number.isFinite(n) ? bytes(n) : '—');

function formatNext(after: NextSample, before: NextSample): string {
  const rows: Array<[string, (s: NextSample) => number, (n: number) => string]> = [
    ['publish, CLI start → promoted', (s) => s.totalMs, ms],
    ['  install (npm ci / install, dev included)', (s) => s.installMs, ms],
    ['  build', (s) => s.buildMs, ms],
    ['  package (and unpack, store)', (s) => s.packageMs, ms],
    ['  start: rollout → healthy', (s) => s.startMs, ms],
    ['rollout → first edge 200 (promoted → first response)', (s) => s.firstResponseMs, ms],
    ['  rollout → instance.starting (assignment)', (s) => s.assignMs, ms],
    ['  instance.starting → healthy (fetch, sandbox, boot, probe)', (s) => s.bootMs, ms],
    ['    starting → first log line (release, sandbox, node)', (s) => s.firstLogMs, ms],
    ['    Next\'s own "Ready in"', (s) => s.nextReadyMs, ms],
    ['  healthy → deployment.promoted', (s) => s.promoteMs, ms],
    ['  promoted → first edge 200', (s) => s.servedMs, ms],
    ['release files', (s) => s.files, (n) => (Number.isFinite(n) ? String(n) : '—')],
    ['release unpacked', (s) => s.unpackedBytes, mib],
    ['release archive', (s) => s.releaseBytes, mib],
  ];
  return table([
    ['', `before: ${before.variant}`, `after: ${after.variant}`, 'before/after'],
    ...rows.map(([label, pick, show]) => [label, show(pick(before)), show(pick(after)), ratio(pick(before), pick(after))]),
  ]);
}

function formatBoot(samples: NextBootSamples): string {
  const p50 = (values: number[]) => summarize(values).p50;
  return `  the no-flags release's own boot, no platform nor sandbox (p50 of ${BOOT_RUNS}, commands in turn):\n${table([
    ['run command', 'spawn → port open', 'spawn → first 200 for /'],
    ...Object.entries(samples).map(([name, s]) => [`${name}: ${BOOT_COMMANDS[name as keyof typeof BOOT_COMMANDS]}`, ms(p50(s.map((x) => x.openMs))), ms(p50(s.map((x) => x.firstMs)))]),
  ])}`;
}

/** Runs section 9 and adds its target lines (packaging and start of the no-flags publish). */
export async function measureNextApp(ctx: Context): Promise<void> {
  const result = await section(ctx, '9. A real Next.js app (create-next-app, npm registry): no flags (standalone) against `run_command: "npm start"` (whole tree), one publish each', async () => {
    const project = await nextApp('bench-next');
    ctx.cleanup.add('remove the Next.js project', () => project.remove());
    const before = await publishOnce(ctx, { dir: project.dir, slug: 'bench-next-start', name: 'npm start', extra: ['--run-command', 'npm start'] });
    const after = await publishOnce(ctx, { dir: project.dir, slug: 'bench-next', name: 'no flags', extra: [] });
    log(formatNext(after, before));
    const release = await copyNextRelease(ctx.platform.home, join(ctx.work, 'next-release'));
    const boot = await measureNextBoot({ dir: release, commands: BOOT_COMMANDS, runs: BOOT_RUNS, freePort, cleanup: ctx.cleanup });
    log(formatBoot(boot));
    const own = summarize((boot['as detected'] ?? []).map((x) => x.firstMs)).p50;
    log(`  the platform's part of instance.starting → healthy: ${ms(after.bootMs)} − ${ms(own)} = ${ms(after.bootMs - own)} (fetch and unpack, sandbox, probe)`);
    for (const slug of ['bench-next-start', 'bench-next']) await ctx.platform.client.deleteDeployment(slug).catch(() => undefined);
    return after;
  });
  const line = (what: string, limit: number, value: number | undefined): TargetLine => ({
    what, goal: `≤ ${limit} ms`, measured: value === undefined ? '—' : ms(value), verdict: value === undefined ? 'ERROR' : verdict(value, limit, true),
  });
  ctx.summary.push(line('Next.js no flags: packaging', NEXT_TARGETS.packageMs, result?.packageMs));
  ctx.summary.push(line('Next.js no flags: promoted → first response', NEXT_TARGETS.firstResponseMs, result?.firstResponseMs));
}
