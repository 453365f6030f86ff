/**
 * A constant request load against the edge, run as its own process by bench/load-loop.ts so
 * that neither the platform's disruptions nor the bench's own work can stall it. `connections`
 * keep-alive loops each send one GET, wait for its answer, then wait for their next slot:
 * `rate` requests per second in all. Each request is counted in the window it was sent in; it
 * failed when the answer was not 2xx, the socket failed, or no answer came within `timeoutMs`.
 *
 * Loopback only: it always connects to 127.0.0.1 and sends `host` as the Host header. Bounded:
 * it stops at "stop" on stdin, when stdin closes, after `maxSeconds` or after `maxRequests`.
 * Prints `{"type":"started"}` at the first 2xx answer and one `{"type":"done",…}` line at the end.
 *
 * Usage: node --import tsx bench/load-process.ts '<LoadSpec as JSON>'
 */
import { Agent, request } from 'node:http';
import type { LoadReport, LoadSpec, LoadWindow } from './load-loop.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
for (const key of ['port', 'rate', 'connections', 'windowMs', 'maxSeconds', 'maxRequests', 'timeoutMs'] as const) {
  if (!Number.isFinite(spec[key]) || spec[key] <= 0) throw new Error(`load-process: ${key} must be a positive number`);
}
if (typeof spec.host !== 'string' || typeof spec.path !== 'string' || !spec.path.startsWith('/')) throw new Error('load-process: host and path are required');

const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
const startedAt = Date.now();
const windows: LoadWindow[] = [];
const reasons: Record<string, number> = {};
const latencies: number[] = [];
let sent = 0;
let firstFailureAt: number | null = null;
let lastFailureAt: number | null = null;
let stopping: LoadReport['stoppedBy'] | null = null;
/** A function, not a comparison: `stopping` changes in callbacks while a loop awaits. */
const stopped = () => stopping !== null;
let announced = false;

function windowAt(t: number): LoadWindow {
  const index = Math.floor((t - startedAt) / spec.windowMs);
  for (let i = windows.length; i <= index; i++) windows.push({ start: startedAt + i * spec.windowMs, sent: 0, failed: 0 });
  return windows[index]!;
}

/** One GET; resolves with the failure reason, or null for a 2xx. */
function once(): Promise<string | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: spec.port, path: spec.path, agent, headers: { host: spec.host }, timeout: spec.timeoutMs }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`));
      res.on('error', (err: NodeJS.ErrnoException) => resolve(`body: ${err.code ?? err.message}`));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: `no answer in ${spec.timeoutMs} ms` })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    req.end();
  });
}

async function loop(offsetMs: number): Promise<void> {
  const intervalMs = (1000 * spec.connections) / spec.rate;
  let next = Date.now() + offsetMs;
  while (!stopped()) {
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (stopped()) return;
    if (sent >= spec.maxRequests) return void (stopping = 'count');
    if (Date.now() - startedAt >= spec.maxSeconds * 1000) return void (stopping = 'time');
    sent++;
    const t0 = Date.now();
    const window = windowAt(t0);
    window.sent++;
    const failure = await once();
    latencies.push(Date.now() - t0);
    if (failure === null) {
      if (!announced) process.stdout.write(`${JSON.stringify({ type: 'started' })}\n`);
      announced = true;
    } else {
      window.failed++;
      reasons[failure] = (reasons[failure] ?? 0) + 1;
      firstFailureAt ??= t0;
      lastFailureAt = t0;
    }
    // A slow answer delays this loop's next request instead of piling requests up.
    next = Math.max(next + intervalMs, Date.now());
  }
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  if (chunk.includes('stop')) stopping ??= 'stop';
});
process.stdin.on('end', () => (stopping ??= 'stop'));

const loops = Array.from({ length: spec.connections }, (_, i) => loop((i * 1000) / spec.rate));
await Promise.all(loops);
agent.destroy();
const failed = windows.reduce((sum, w) => sum + w.failed, 0);
latencies.sort((a, b) => a - b);
const rank = (p: number) => latencies[Math.max(0, Math.ceil(p * latencies.length) - 1)] ?? Number.NaN;
const report: LoadReport = {
  type: 'done', startedAt, stoppedAt: Date.now(), stoppedBy: stopping ?? 'stop', sent, failed, windows, reasons, firstFailureAt, lastFailureAt,
  latencyMs: { p50: rank(0.5), p99: rank(0.99), max: latencies.at(-1) ?? Number.NaN },
};
process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(0));
