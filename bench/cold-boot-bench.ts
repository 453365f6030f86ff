/**
 * Cold boot of an old version through its URL: publishes the app `runs + 1` times so that every
 * version but the last is superseded (its instances stopped), then for each old version asks
 * `v<N>--<slug>` every 20 ms (one keep-alive connection) from the first request, which wakes
 * it, until the first 200 that version answers itself. What it measures is what a visitor of an
 * old preview link waits: the wake call, the instance's start in its sandbox, the health check,
 * and the route reaching the edge.
 */
import type { SlipwayClient } from '../src/sdk/index.js';
import { waitFor } from '../src/util/wait-for.js';
import { ensureDeployment, publishApp } from './dynamic-app.js';
import { createEdgeProbe, now } from './edge-probe.js';
import { verdict } from './report.js';
import { log, section, type Context } from './section.js';
import { ms, summarize, table } from './stats.js';

const POLL_MS = 20;
const BOOT_TIMEOUT_MS = 60_000;

/** One cold boot. */
export interface ColdBootSample {
  version: number;
  /** First request → first 200 from that version. */
  bootMs: number;
  /** Answers before it, by status: `503` → count. */
  answers: Record<string, number>;
}

/** Options of {@link measureColdBoots}. */
export interface ColdBootOptions {
  client: SlipwayClient;
  edgePort: number;
  slug: string;
  runs: number;
  runId: string;
}

/** Wakes `runs` superseded versions, one after another, through their preview hosts. */
export async function measureColdBoots(o: ColdBootOptions): Promise<ColdBootSample[]> {
  await ensureDeployment(o.client, o.slug);
  const published = [];
  for (let i = 0; i <= o.runs; i++) published.push((await publishApp(o.client, o.slug, `cold-${o.runId}-${i}`)).version);
  const old = published.slice(0, -1);
  await waitFor(async () => {
    const ids = new Set(old.map((v) => v.id));
    return (await o.client.listInstances(o.slug)).every((i) => !ids.has(i.version_id) || i.state === 'stopped');
  }, { timeoutMs: 60_000, intervalMs: 100, description: 'every superseded version stopped' });
  const samples: ColdBootSample[] = [];
  for (const version of old) {
    const probe = createEdgeProbe({ port: o.edgePort, host: `v${version.version_number}--${o.slug}.localhost`, intervalMs: POLL_MS });
    try {
      const answers: Record<string, number> = {};
      const t0 = now();
      for (;;) {
        const answer = await probe.get('/').then((a) => a, (err: NodeJS.ErrnoException) => ({ status: 0, text: err.code ?? err.message }));
        if (answer.status === 200 && answer.text.startsWith(`hello from v${version.version_number} `)) break;
        const key = answer.status === 0 ? answer.text : String(answer.status);
        answers[key] = (answers[key] ?? 0) + 1;
        if (now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`v${version.version_number} did not answer within ${BOOT_TIMEOUT_MS} ms of the first request`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      samples.push({ version: version.version_number, bootMs: now() - t0, answers });
    } finally {
      probe.close();
    }
  }
  return samples;
}

const RUNS = 5;
const SLUG = 'bench-cold';
/** A reference, not a promise: a cold start of the bench's trivial app, sandbox included. */
const GOAL_P50_MS = 3000;

/** Section 10 of `npm run bench` (group `wake`): prints each boot and adds a summary line. */
export async function coldBootSection(ctx: Context): Promise<void> {
  const { client, httpPort } = ctx.platform;
  const samples = await section(ctx, `10. Cold boot of an old version through its URL: first request to v<N>--<slug> → first 200 from v<N> (${RUNS} versions, one after another)`, async () => {
    const measured = await measureColdBoots({ client, edgePort: httpPort, slug: SLUG, runs: RUNS, runId: Date.now().toString(36) });
    log(table([['version', 'first request → 200', 'answers before it'], ...measured.map((s) => [
      `v${s.version}`, ms(s.bootMs), Object.entries(s.answers).map(([k, n]) => `${n}× ${k}`).join(', ') || 'none',
    ])]));
    const sum = summarize(measured.map((s) => s.bootMs));
    log(`  p50 ${ms(sum.p50)}, min ${ms(sum.min)}, max ${ms(sum.max)}`);
    return measured;
  });
  await client.deleteDeployment(SLUG).catch(() => undefined);
  const p50 = samples?.length ? summarize(samples.map((s) => s.bootMs)).p50 : null;
  ctx.summary.push({
    what: 'cold boot of an old version via its URL, p50', goal: `≤ ${GOAL_P50_MS} ms (reference)`,
    measured: p50 === null ? '—' : ms(p50), verdict: p50 === null ? 'ERROR' : verdict(p50, GOAL_P50_MS, true),
  });
}
