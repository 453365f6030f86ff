/**
 * API latency for everyone else while one deployment's publishes upload hostile archives: a
 * tar.gz with 256 MiB of zeros after the end of the archive (a few hundred KB on the wire),
 * sent over and over by two clients at once. A second deployment's requests (GET of the
 * deployment, GET /healthz) are timed with and without that going on, in the same run; the
 * report gives both p99s and their ratio.
 */
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createGzip } from 'node:zlib';
import { rawTar } from '../test/support/archive/raw-tar-fixture.js';
import type { Platform } from '../test/support/platform.js';
import { verdict, type TargetLine } from './report.js';
import { log, section, type Context } from './section.js';
import { bytes, ms, percentile, summarize, table } from './stats.js';

/** How long each phase sends requests. */
const PHASE_MS = 5000;
/** Clients uploading hostile archives at the same time. */
const HOSTILE_CLIENTS = 2;
const TRAILING_ZEROS = 256 * 1024 * 1024;
/** p99 with hostile uploads running may be at most this many times the quiet p99. */
export const HOSTILE_P99_RATIO_TARGET = 3;

/** What one measurement phase saw. */
interface Phase {
  latencies: number[];
  hostileAnswers: Map<string, number>;
}

/** A small site followed by `TRAILING_ZEROS` of zeros, gzipped as `gzip -1` would (streamed, not held). */
async function hostileBody(): Promise<Buffer> {
  const zeros = Buffer.alloc(1024 * 1024);
  const parts = (function* () {
    yield rawTar([{ name: 'index.html', body: '<h1>hostile</h1>' }]);
    for (let left = TRAILING_ZEROS; left > 0; left -= zeros.length) yield zeros;
  })();
  return buffer(Readable.from(parts).pipe(createGzip({ level: 1 })));
}

async function timedGet(platform: Platform, path: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${platform.apiUrl}${path}`, { headers: { authorization: `Bearer ${platform.token}` } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}`);
  return performance.now() - started;
}

/** Sends the other deployment's requests for `PHASE_MS`, with `hostile` uploads alongside when given. */
async function phase(platform: Platform, quiet: string, hostile?: { slug: string; body: Buffer }): Promise<Phase> {
  const deadline = performance.now() + PHASE_MS;
  const hostileAnswers = new Map<string, number>();
  const uploader = async (): Promise<void> => {
    while (hostile && performance.now() < deadline) {
      const res = await fetch(`${platform.apiUrl}/api/v1/deployments/${hostile.slug}/publish`, {
        method: 'POST', headers: { authorization: `Bearer ${platform.token}`, 'content-type': 'application/gzip' }, body: hostile.body,
      });
      const json = (await res.json()) as { error?: { code: string } };
      const answer = `${res.status} ${json.error?.code ?? 'accepted'}`;
      hostileAnswers.set(answer, (hostileAnswers.get(answer) ?? 0) + 1);
    }
  };
  const uploads = Promise.all(Array.from({ length: hostile ? HOSTILE_CLIENTS : 0 }, uploader));
  const latencies: number[] = [];
  while (performance.now() < deadline) {
    latencies.push(await timedGet(platform, `/api/v1/deployments/${quiet}`));
    latencies.push(await timedGet(platform, '/api/v1/healthz'));
  }
  await uploads;
  return { latencies, hostileAnswers };
}

/** Section 8 of `npm run bench` (group `uploads`). */
export async function measureHostileUploads(ctx: Context): Promise<void> {
  const title = `8. API latency of another deployment while hostile gzip uploads run (${HOSTILE_CLIENTS} clients, ${bytes(TRAILING_ZEROS)} of zeros after the archive; ${PHASE_MS / 1000} s per phase)`;
  const result = await section(ctx, title, async () => {
    const { client } = ctx.platform;
    const quiet = await client.createDeployment({ slug: 'bench-quiet' });
    const target = await client.createDeployment({ slug: 'bench-hostile' });
    const body = await hostileBody();
    const baseline = await phase(ctx.platform, quiet.slug);
    const loaded = await phase(ctx.platform, quiet.slug, { slug: target.slug, body });
    const base = { ...summarize(baseline.latencies), p99: percentile(baseline.latencies, 99) };
    const load = { ...summarize(loaded.latencies), p99: percentile(loaded.latencies, 99) };
    log(`  hostile body ${bytes(body.length)} on the wire; its answers: ${[...loaded.hostileAnswers].map(([a, n]) => `${n}× ${a}`).join(', ') || 'none finished'}`);
    log(table([
      ['', 'requests', 'p50', 'p99', 'max'],
      ['quiet (baseline)', String(baseline.latencies.length), ms(base.p50), ms(base.p99), ms(base.max)],
      ['during hostile uploads', String(loaded.latencies.length), ms(load.p50), ms(load.p99), ms(load.max)],
    ]));
    const ratio = load.p99 / base.p99;
    log(`  p99 ratio (hostile / quiet): ${ratio.toFixed(2)}×`);
    return ratio;
  });
  const line: TargetLine = {
    what: 'API p99 during hostile uploads / quiet', goal: `≤ ${HOSTILE_P99_RATIO_TARGET}×`,
    measured: result === undefined ? '—' : `${result.toFixed(2)}×`,
    verdict: result === undefined ? 'ERROR' : verdict(result, HOSTILE_P99_RATIO_TARGET, true),
  };
  ctx.summary.push(line);
}
