/** Turns measurements into the printed tables and the target summary. */
import type { EdgeBenchResult, EdgeRow, ServerName } from './edge-bench.js';
import type { ProxyBenchResult, ProxyVia } from './proxy-compare.js';
import { POLL_INTERVAL_MS, type PublishSample, type RollbackSample } from './publish-bench.js';
import { bytes, ms, summarize, table } from './stats.js';

/** The issue's targets. */
export const TARGETS = {
  publishP50Ms: 150,
  rollbackP50Ms: 50,
  edgeVsNginx: 0.7,
  /** Dynamic publish → promoted may take the app's own boot time plus this. */
  promoteOverBootMs: 1000,
  /** Failed requests under load during each disruption. */
  failedRequests: 0,
  /** kill -9 of the only instance → the edge answers 200 again. */
  mttrMs: 2000,
  /** The same for an app as users write it (Express, `npm start`), default health checks. */
  mttrNpmStartMs: 1000,
  /**
   * Not a target of the issue: the proxy path MEASUREMENTS.md found fastest in Node (undici
   * `Pool.stream()`), against nginx, as a reference for the edge's proxy.
   */
  proxyVsNginxReference: 0.45,
} as const;

export const VERDICTS = ['PASS', 'MISS', 'SKIP', 'ERROR'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** One line of the summary. */
export interface TargetLine {
  what: string;
  goal: string;
  measured: string;
  verdict: Verdict;
}

const HEAD = ['', 'p50', 'p95', 'min', 'max'];
const row = (label: string, values: number[]) => {
  const s = summarize(values);
  return [label, ms(s.p50), ms(s.p95), ms(s.min), ms(s.max)];
};

/** Section 1: totals and the phases read from each version's timestamps. */
export function formatPublishes(samples: PublishSample[], archiveBytes: number[]): string {
  return [
    `  ${samples.length} publishes, tar.gz ${bytes(summarize(archiveBytes).p50)} each (packed before the timer starts); wait=false; the edge is polled every ${POLL_INTERVAL_MS} ms from the 202 on`,
    table([
      HEAD,
      row('publish → new content at the edge', samples.map((s) => s.totalMs)),
      row('  request → 202 answer', samples.map((s) => s.acceptMs)),
      ['  phases, from the version object:'],
      row('  request → created_at (upload, unpack, snapshot)', samples.map((s) => s.receiveMs)),
      row('  created_at → started_at (queued)', samples.map((s) => s.queuedMs)),
      row('  started_at → finished_at (build + package)', samples.map((s) => s.buildMs)),
      row('  finished_at → served (promote, route feed, edge load)', samples.map((s) => s.toEdgeMs)),
    ]),
  ].join('\n');
}

/** Section 2. */
export function formatRollbacks(samples: RollbackSample[]): string {
  const versions = [...new Set(samples.map((s) => `v${s.to}`))].join(' ⇄ ');
  return [
    `  ${samples.length} rollbacks alternating ${versions}; the edge is polled every ${POLL_INTERVAL_MS} ms from the request's start`,
    table([HEAD, row('rollback → old content at the edge', samples.map((s) => s.totalMs)), row('  request → API answer', samples.map((s) => s.apiMs))]),
  ].join('\n');
}

/** Above this share of CPU 0 busy with other work, a run measured the neighbours too. */
const NOISY_SHARE = 0.2;

/** True when some run shared the server's CPU with other work. */
export function isNoisy(rows: EdgeRow[], file?: string): boolean {
  return rows.some((r) => (file === undefined || r.file === file) && (r.serverCpuOtherShare ?? 0) > NOISY_SHARE);
}

/** req/s of the edge over another server's for one file, or null when either is missing. */
export function edgeRatio(rows: EdgeRow[], file: string, against: ServerName = 'nginx'): number | null {
  const of = (server: ServerName) => rows.find((r) => r.file === file && r.server === server)?.result.requestsPerSecond;
  const edge = of('edge');
  const other = of(against);
  return edge === undefined || other === undefined || other === 0 ? null : edge / other;
}

/** Section 3. */
export function formatEdge(result: EdgeBenchResult): string {
  if (result.skipped) return `  skipped: ${result.skipped}`;
  const lines: string[] = [];
  const rows: string[][] = [['file', 'server', 'req/s', 'p50', 'p99', 'CPU µs/req', 'CPU0 other', 'non-2xx', 'sock err', 'edge/nginx', 'edge/node']];
  const ratio = (r: EdgeRow, against: ServerName) => {
    const value = r.server === 'edge' ? edgeRatio(result.rows, r.file, against) : null;
    return value === null ? '' : `${value.toFixed(2)}×`;
  };
  for (const r of result.rows) {
    rows.push([
      r.file, r.server, r.result.requestsPerSecond.toFixed(0), `${r.result.latencyP50Ms.toFixed(2)} ms`, `${r.result.latencyP99Ms.toFixed(2)} ms`,
      r.cpuUsPerRequest.toFixed(1), r.serverCpuOtherShare === null ? '—' : `${(r.serverCpuOtherShare * 100).toFixed(0)}%`, String(r.result.non2xx), String(r.result.socketErrors), ratio(r, 'nginx'), ratio(r, 'node'),
    ]);
  }
  lines.push(table(rows));
  lines.push('  node: bare node:http serving the same Buffers (the floor for a Node server); CPU µs/req: server CPU time (all its');
  lines.push('  processes and threads) per request; CPU0 other: share of CPU 0 busy with anything but the server');
  if (isNoisy(result.rows)) {
    lines.push(`  warning: CPU 0 spent over ${NOISY_SHARE * 100}% of some runs on other work: those req/s are not comparable; re-run on a quiet machine`);
  }
  const bad = result.rows.filter((r) => r.result.non2xx > 0 || r.result.socketErrors > 0);
  if (bad.length > 0) lines.push(`  warning: errors in ${bad.map((r) => `${r.file}/${r.server}`).join(', ')}: those figures are not comparable`);
  return lines.join('\n');
}

/** req/s (or p99, with `p99`) of the edge's proxy over nginx's for one file, or null. */
export function proxyRatio(result: ProxyBenchResult, file: string, p99 = false): number | null {
  const of = (via: ProxyVia) => {
    const r = result.rows.find((row) => row.file === file && row.server === via)?.result;
    return r === undefined ? undefined : p99 ? r.latencyP99Ms : r.requestsPerSecond;
  };
  const edge = of('edge');
  const nginx = of('nginx');
  return edge === undefined || nginx === undefined || nginx === 0 ? null : edge / nginx;
}

/** The reverse-proxy comparison (bench/proxy-compare.ts). */
export function formatProxy(result: ProxyBenchResult): string {
  if (result.skipped) return `  skipped: ${result.skipped}`;
  const out = [['file', 'via', 'req/s', 'p50', 'p99', 'CPU µs/req', 'CPU0 other', 'non-2xx', 'sock err', 'edge/nginx req/s', 'edge/nginx p99']];
  for (const r of result.rows) {
    const ratio = (p99: boolean) => {
      const value = r.server === 'edge' ? proxyRatio(result, r.file, p99) : null;
      return value === null ? '' : `${value.toFixed(2)}×`;
    };
    out.push([
      r.file, r.server, r.result.requestsPerSecond.toFixed(0), `${r.result.latencyP50Ms.toFixed(2)} ms`, `${r.result.latencyP99Ms.toFixed(2)} ms`,
      r.cpuUsPerRequest.toFixed(1), r.serverCpuOtherShare === null ? '—' : `${(r.serverCpuOtherShare * 100).toFixed(0)}%`,
      String(r.result.non2xx), String(r.result.socketErrors), ratio(false), ratio(true),
    ]);
  }
  const lines = [table(out)];
  lines.push('  upstream: wrk straight to the Node upstream (no proxy, the ceiling); CPU µs/req: that process alone (the proxies: their');
  lines.push(`  own CPU); edge/nginx p99: lower is better. MEASUREMENTS.md reference: undici Pool.stream() at ${TARGETS.proxyVsNginxReference}× nginx, ≈88 µs own CPU`);
  if (result.rows.some((r) => r.server !== 'upstream' && (r.serverCpuOtherShare ?? 0) > NOISY_SHARE)) {
    lines.push(`  warning: CPU 0 spent over ${NOISY_SHARE * 100}% of some runs on other work: those req/s are not comparable`);
  }
  const bad = result.rows.filter((r) => r.result.non2xx > 0 || r.result.socketErrors > 0);
  if (bad.length > 0) lines.push(`  warning: errors in ${bad.map((r) => `${r.file}/${r.server}`).join(', ')}: those figures are not comparable`);
  return lines.join('\n');
}

/** PASS when `value ≤ limit` (`atMost`) or `value ≥ limit`. */
export function verdict(value: number | null, limit: number, atMost: boolean): Verdict {
  if (value === null || !Number.isFinite(value)) return 'SKIP';
  return (atMost ? value <= limit : value >= limit) ? 'PASS' : 'MISS';
}

/** The closing table. */
export function formatSummary(lines: TargetLine[]): string {
  return table([['target', 'goal', 'measured', 'result'], ...lines.map((l) => [l.what, l.goal, l.measured, l.verdict])]);
}
