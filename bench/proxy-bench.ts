/**
 * The edge as a reverse proxy against nginx, side by side in one run: both proxy to the same
 * Node upstream (bench/node-floor.ts, keep-alive), wrk -t1 -c50 through each, the proxy pinned
 * to CPU 0, wrk and the upstream to CPU 1 (shared/MEASUREMENTS.md). The edge is a real edge
 * process serving a dynamic route from routes.json; the upstream is also measured directly,
 * as the ceiling neither proxy can pass.
 *
 * Usage: node --import tsx bench/proxy-bench.ts     (needs Debian's `wrk` and `nginx-light`)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '../test/support/platform.js';
import { cleanUpOnSignals, createCleanup, type Cleanup } from './cleanup.js';
import { createEdgeProbe } from './edge-probe.js';
import { measureRun, MEASURE_SECONDS, WARMUP_SECONDS, type EdgeRow } from './edge-bench.js';
import { startNginx } from './nginx.js';
import { startNodeFloor, startNodeScript } from './node-floor-process.js';
import { clockTicks, findExecutable } from './procs.js';
import { createStaticFiles } from './site-fixture.js';
import { table } from './stats.js';

const log = (line: string) => process.stdout.write(`${line}\n`);
const HOST = 'bench-proxy.localhost';
const TARGETS = [{ label: '1 KiB', path: '/bench-1k.js' }, { label: '100 KiB', path: '/bench-100k.js' }];
type Proxy = 'upstream' | 'nginx' | 'edge';

/** Every way in must answer with the upstream's very bytes, or the race is unfair. */
async function checkAnswers(port: number): Promise<void> {
  const files = createStaticFiles();
  // node:http, not fetch: fetch silently drops a Host header.
  const probe = createEdgeProbe({ port, host: HOST, intervalMs: 0 });
  try {
    for (const { path } of TARGETS) {
      const answer = await probe.get(path);
      if (answer.status !== 200 || answer.text !== files.get(path.slice(1))?.toString('utf8')) {
        throw new Error(`port ${port} answered ${path} with ${answer.status} and ${answer.text.length} bytes, not the upstream's file`);
      }
    }
  } finally {
    probe.close();
  }
}

async function run(cleanup: Cleanup): Promise<void> {
  const wrk = await findExecutable('wrk');
  const nginxPath = await findExecutable('nginx');
  if (wrk === null || nginxPath === null) throw new Error('needs wrk and nginx (apt-get install -y wrk nginx-light)');
  const taskset = await findExecutable('taskset');
  const canPin = taskset !== null && availableParallelism() >= 2;
  const proxyPin: [string, string] | null = canPin ? [taskset, '0'] : null;
  const loadPin: [string, string] | null = canPin ? [taskset, '1'] : null;
  log(canPin ? '  proxies pinned to CPU 0; wrk and the upstream to CPU 1' : '  nothing pinned (taskset missing or one CPU)');

  const upstreamPort = await freePort();
  const upstreamPid = await startNodeFloor({ port: upstreamPort, pin: loadPin, repoRoot, cleanup });
  const upstream = `127.0.0.1:${upstreamPort}`;
  const nginx = await startNginx({ nginx: nginxPath, port: await freePort(), files: new Map(), pin: proxyPin, cleanup, proxyTo: upstream });
  const stateDir = await mkdtemp(join(tmpdir(), 'slipway-bench-proxy-'));
  cleanup.add('remove the edge state dir', () => rm(stateDir, { recursive: true, force: true }));
  const edgePort = await freePort();
  const edgePid = await startNodeScript({
    name: 'proxying edge', script: 'proxy-edge-process.ts', args: [String(edgePort), stateDir, upstream], pin: proxyPin, repoRoot, cleanup,
  });
  const servers: Array<{ name: Proxy; port: number; pids: () => Promise<number[]> }> = [
    { name: 'upstream', port: upstreamPort, pids: async () => [upstreamPid] },
    { name: 'nginx', port: nginx.port, pids: nginx.pids },
    { name: 'edge', port: edgePort, pids: async () => [edgePid] },
  ];
  for (const s of servers) await checkAnswers(s.port);

  const ticks = await clockTicks();
  const rows: Array<Omit<EdgeRow, 'server'> & { server: Proxy }> = [];
  for (const target of TARGETS) {
    for (const s of servers) {
      log(`  › wrk ${target.label} via ${s.name} …`);
      const wrkOptions = { wrk, url: `http://127.0.0.1:${s.port}${target.path}`, host: HOST, connections: 50, threads: 1, pin: loadPin, cleanup };
      // The upstream shares CPU 1 with wrk, so only the proxies' own CPU is comparable.
      const pinnedCpu = canPin && s.name !== 'upstream' ? 0 : null;
      rows.push({ file: target.label, server: s.name, ...(await measureRun({ wrkOptions, pids: await s.pids(), ticks, pinnedCpu })) });
    }
  }
  const rps = (file: string, server: Proxy) => rows.find((r) => r.file === file && r.server === server)?.result.requestsPerSecond ?? 0;
  const out = [['file', 'via', 'req/s', 'p50', 'p99', 'CPU µs/req', 'non-2xx', 'sock err', 'edge/nginx']];
  for (const r of rows) {
    const ratio = r.server === 'edge' && rps(r.file, 'nginx') > 0 ? `${(r.result.requestsPerSecond / rps(r.file, 'nginx')).toFixed(2)}×` : '';
    out.push([
      r.file, r.server, r.result.requestsPerSecond.toFixed(0), `${r.result.latencyP50Ms.toFixed(2)} ms`, `${r.result.latencyP99Ms.toFixed(2)} ms`,
      r.cpuUsPerRequest.toFixed(1), String(r.result.non2xx), String(r.result.socketErrors), ratio,
    ]);
  }
  log(table(out));
  log('  upstream: wrk straight to the Node upstream (no proxy); CPU µs/req: that process alone (the proxies: their own CPU)');
  log('  MEASUREMENTS.md reference: undici Pool.stream() at 0.45× nginx, ≈88 µs own CPU per request');
}

async function main(): Promise<void> {
  const cleanup = createCleanup(log);
  cleanUpOnSignals(cleanup, log);
  log(`Slipway proxy bench — ${new Date().toISOString()}, node ${process.version}, load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  log(`wrk -t1 -c50, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s per run; compare ratios from this run only`);
  try {
    await run(cleanup);
  } catch (err) {
    log(cleanup.started ? 'interrupted' : `proxy bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
