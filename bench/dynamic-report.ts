/** The dynamic-app sections' tables and summary lines, in the form of bench/report.ts. */
import type { DisruptionResult } from './disruption-bench.js';
import { LOAD } from './disruption-bench.js';
import type { MttrSample } from './mttr-bench.js';
import type { PromoteSample } from './promote-bench.js';
import { TARGETS, verdict, type TargetLine } from './report.js';
import { ms, summarize, table } from './stats.js';

const HEAD = ['', 'p50', 'p95', 'min', 'max'];
const row = (label: string, values: number[]) => {
  const s = summarize(values);
  return [label, ms(s.p50), ms(s.p95), ms(s.min), ms(s.max)];
};

/** Publish → promoted against the app's own boot time. */
export function formatPromotions(boot: number[], samples: PromoteSample[]): string {
  const diff = summarize(samples.map((s) => s.totalMs)).p50 - summarize(boot).p50;
  return [
    `  ${boot.length} direct boots, ${samples.length} publishes (each a new source: a new build); health: 1 pass, every 100 ms, first check 100 ms after the start`,
    table([
      HEAD,
      row('app boot: spawn `node server.js` → first 200 (no platform)', boot),
      row('publish → promoted (POST wait=true → answer)', samples.map((s) => s.totalMs)),
      ['  phases, from the version and its events:'],
      row('  POST → created_at (upload, snapshot)', samples.map((s) => s.receiveMs)),
      row('  created_at → started_at (queued)', samples.map((s) => s.queuedMs)),
      row('  started_at → rollout.deploying (build, package)', samples.map((s) => s.buildMs)),
      row('  rollout.deploying → instance.healthy (assign, sandbox, boot, check)', samples.map((s) => s.bootMs)),
      row('  instance.healthy → finished_at (promote)', samples.map((s) => s.promoteMs)),
      row('  finished_at → answer', samples.map((s) => s.answerMs)),
      row('answer → the edge serves the new version', samples.map((s) => s.edgeMs)),
    ]),
    `  publish − boot, p50: ${ms(diff)}; publish / boot, p50: ${(summarize(samples.map((s) => s.totalMs)).p50 / summarize(boot).p50).toFixed(1)}×`,
  ].join('\n');
}

/** The summary line of the promotion target. */
export function promotionTarget(boot: number[] | undefined, samples: PromoteSample[] | undefined): TargetLine {
  const what = 'dynamic publish → promoted, p50 − app boot p50';
  const goal = `≤ ${TARGETS.promoteOverBootMs} ms`;
  if (!boot?.length || !samples?.length) return { what, goal, measured: '—', verdict: 'ERROR' };
  const publish = summarize(samples.map((s) => s.totalMs)).p50;
  const diff = publish - summarize(boot).p50;
  return { what, goal, measured: `${ms(diff)} (${ms(publish)} − ${ms(summarize(boot).p50)})`, verdict: verdict(diff, TARGETS.promoteOverBootMs, true) };
}

function failedWindows(r: DisruptionResult): string {
  const bad = r.load.windows.filter((w) => w.failed > 0);
  if (bad.length === 0) return '';
  const shown = bad.slice(0, 4).map((w) => `${((w.start - r.actionAt) / 1000).toFixed(2)}s:${w.failed}/${w.sent}`);
  return shown.join(' ') + (bad.length > 4 ? ` …+${bad.length - 4}` : '');
}

/** Failed requests per disruption. */
export function formatDisruptions(results: DisruptionResult[]): string {
  const rows = [['disruption', 'sent', 'failed', 'why', `failed by ${LOAD.windowMs} ms window (s from the action)`, 'p99', 'max']];
  for (const r of results) {
    const why = Object.entries(r.load.reasons).map(([reason, n]) => `${reason}×${n}`).join(', ');
    rows.push([r.name, String(r.load.sent), String(r.load.failed), why, failedWindows(r), ms(r.load.latencyMs.p99), ms(r.load.latencyMs.max)]);
  }
  return [
    `  load: ${LOAD.rate} req/s GET / over ${LOAD.connections} keep-alive connections from a separate process; a failure is a non-2xx, a socket error or no answer in ${LOAD.timeoutMs / 1000} s`,
    table(rows),
    ...results.map((r) => `  ${r.name}: ${r.detail}${r.load.stoppedBy === 'stop' ? '' : ` (the load stopped itself: ${r.load.stoppedBy} bound)`}`),
  ].join('\n');
}

/** One summary line per disruption. */
export function disruptionTargets(results: DisruptionResult[]): TargetLine[] {
  return results.map((r) => ({
    what: `failed requests: ${r.name}`, goal: String(TARGETS.failedRequests), measured: `${r.load.failed} of ${r.load.sent}`,
    verdict: r.error !== undefined ? 'ERROR' : verdict(r.load.failed, TARGETS.failedRequests, true),
  }));
}

/** Time to recover from kill -9 with one replica, and what the killed instance was made of. */
export function formatMttr(samples: MttrSample[], app: string): string {
  const rows = [['version', 'kill → 200 again', 'kill → restart event', 'kill → healthy event', 'kill → first failure', 'the edge answered meanwhile', 'instance processes', 'instance RSS']];
  const at = (v: number | null) => (v === null ? '—' : ms(v));
  for (const s of samples) {
    const answers = Object.entries(s.answers).map(([a, n]) => `${a}×${n}`).join(', ');
    rows.push([
      `v${s.version}`, ms(s.mttrMs), at(s.restartEventMs), at(s.healthyEventMs), s.firstFailureMs === null ? 'none seen' : ms(s.firstFailureMs), answers,
      s.footprint.processes.join(' > '), `${(s.footprint.rssKb / 1024).toFixed(1)} MiB`,
    ]);
  }
  return [
    `  ${app}: ${samples.length} kills, each of a freshly published version (a first crash after a healthy run); the edge polled every 5 ms`,
    table(rows),
    table([HEAD, row('kill -9 → the edge answers 200', samples.map((s) => s.mttrMs))]),
  ].join('\n');
}

/** The summary line of the MTTR target: the worst run counts. */
export function mttrTarget(samples: MttrSample[] | undefined, app = 'the bench app', limitMs: number = TARGETS.mttrMs): TargetLine {
  const what = `MTTR after kill -9, 1 replica, max (${app})`;
  const goal = `≤ ${limitMs} ms`;
  if (!samples?.length) return { what, goal, measured: '—', verdict: 'ERROR' };
  const s = summarize(samples.map((x) => x.mttrMs));
  return { what, goal, measured: `${ms(s.max)} (p50 ${ms(s.p50)})`, verdict: verdict(s.max, limitMs, true) };
}
