/**
 * The edge as a reverse proxy against nginx, side by side in one run: both proxy to the same
 * Node upstream (bench/node-floor.ts, keep-alive), wrk -t1 -c50 through each, the proxy pinned
 * to CPU 0, wrk and the upstream to CPU 1 (shared/MEASUREMENTS.md). The edge is a real edge
 * process serving a dynamic route from routes.json (bench/proxy-edge-process.ts); the upstream
 * is also measured directly, as the ceiling neither proxy can pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, repoRoot } from '../test/support/platform.js';
import type { Cleanup } from './cleanup.js';
import { createEdgeProbe } from './edge-probe.js';
import { measureRun, type EdgeRow } from './edge-bench.js';
import { startNginx } from './nginx.js';
import { startNodeFloor, startNodeScript } from './node-floor-process.js';
import { clockTicks, findExecutable } from './procs.js';
import { createStaticFiles } from './site-fixture.js';

const HOST = 'bench-proxy.localhost';
/** The files proxied, with their labels. */
export const PROXY_TARGETS = [{ label: '1 KiB', path: '/bench-1k.js' }, { label: '100 KiB', path: '/bench-100k.js' }];

/** The ways in: straight to the upstream, through nginx, through the edge. */
export const PROXY_VIAS = ['upstream', 'nginx', 'edge'] as const;
export type ProxyVia = (typeof PROXY_VIAS)[number];

/** One measured wrk run. */
export type ProxyRow = Omit<EdgeRow, 'server'> & { server: ProxyVia };

/** What the comparison found; `skipped` says why nothing was measured. */
export interface ProxyBenchResult {
  rows: ProxyRow[];
  /** Whether the proxies had CPU 0 to themselves (taskset and two CPUs). */
  pinned: boolean;
  skipped?: string;
}

/** Options of {@link measureProxy}. */
export interface ProxyBenchOptions {
  cleanup: Cleanup;
  log: (line: string) => void;
}

/** Every way in must answer with the upstream's very bytes, or the race is unfair. */
async function checkAnswers(port: number): Promise<void> {
  const files = createStaticFiles();
  // node:http, not fetch: fetch silently drops a Host header.
  const probe = createEdgeProbe({ port, host: HOST, intervalMs: 0 });
  try {
    for (const { path } of PROXY_TARGETS) {
      const answer = await probe.get(path);
      if (answer.status !== 200 || answer.text !== files.get(path.slice(1))?.toString('utf8')) {
        throw new Error(`port ${port} answered ${path} with ${answer.status} and ${answer.text.length} bytes, not the upstream's file`);
      }
    }
  } finally {
    probe.close();
  }
}

/** Runs the comparison; throws only when something that is installed fails. */
export async function measureProxy(o: ProxyBenchOptions): Promise<ProxyBenchResult> {
  const { cleanup, log } = o;
  const wrk = await findExecutable('wrk');
  const nginxPath = await findExecutable('nginx');
  if (wrk === null || nginxPath === null) {
    return { rows: [], pinned: false, skipped: `${wrk === null ? 'wrk' : 'nginx'} not installed (apt-get install -y wrk nginx-light)` };
  }
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
  const servers: Array<{ name: ProxyVia; port: number; pids: () => Promise<number[]> }> = [
    { name: 'upstream', port: upstreamPort, pids: async () => [upstreamPid] },
    { name: 'nginx', port: nginx.port, pids: nginx.pids },
    { name: 'edge', port: edgePort, pids: async () => [edgePid] },
  ];
  for (const s of servers) await checkAnswers(s.port);

  const ticks = await clockTicks();
  const rows: ProxyRow[] = [];
  for (const target of PROXY_TARGETS) {
    for (const s of servers) {
      log(`  › wrk ${target.label} via ${s.name} …`);
      const wrkOptions = { wrk, url: `http://127.0.0.1:${s.port}${target.path}`, host: HOST, connections: 50, threads: 1, pin: loadPin, cleanup };
      // The upstream shares CPU 1 with wrk, so only the proxies' own CPU is comparable.
      const pinnedCpu = canPin && s.name !== 'upstream' ? 0 : null;
      rows.push({ file: target.label, server: s.name, ...(await measureRun({ wrkOptions, pids: await s.pids(), ticks, pinnedCpu })) });
    }
  }
  return { rows, pinned: canPin };
}
