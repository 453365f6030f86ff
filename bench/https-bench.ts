/**
 * HTTPS through the edge against nginx, side by side in one run, with the same certificate (a
 * P-256 leaf for `localhost` from a throwaway local CA) and the same upstream (bench/node-floor.ts,
 * keep-alive): wrk -t1 -c50 over kept-alive TLS connections (requests/s), and with
 * `Connection: close` (a new TCP connection and a full TLS handshake per request: new
 * handshakes/s). The same edge over plain HTTP is measured too (kept-alive), so TLS's own
 * share of the edge's cost shows beside the proxy's. The proxies are pinned to CPU 0, wrk and the upstream to CPU 1 when there are
 * two CPUs. HTTP/1.1 only: wrk speaks no HTTP/2.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServerCertificate } from '../src/util/x509-issue.js';
import { freePort, repoRoot } from '../test/support/platform.js';
import type { Cleanup } from './cleanup.js';
import { measureRun } from './edge-bench.js';
import { startNginx } from './nginx.js';
import { startNodeFloor, startNodeScript } from './node-floor-process.js';
import { clockTicks, findExecutable } from './procs.js';
import type { WrkResult } from './wrk.js';

const HOST = 'bench-proxy.localhost';
const PATH = '/bench-1k.js';

/** One measured wrk run. */
export interface HttpsRow {
  mode: 'kept-alive' | 'new handshakes';
  /** `edge (http)`: the same edge process over plain HTTP, so TLS's own share shows. */
  server: 'nginx' | 'edge' | 'edge (http)';
  result: WrkResult;
  cpuUsPerRequest: number;
}

/** What the comparison found; `skipped` says why nothing was measured. */
export interface HttpsBenchResult {
  rows: HttpsRow[];
  pinned: boolean;
  skipped?: string;
}

/** Edge requests/s over nginx's for one mode; null when either is missing. */
export function httpsRatio(result: HttpsBenchResult, mode: HttpsRow['mode']): number | null {
  const of = (server: HttpsRow['server']) => result.rows.find((r) => r.mode === mode && r.server === server)?.result.requestsPerSecond;
  const edge = of('edge');
  const nginx = of('nginx');
  return edge === undefined || nginx === undefined || nginx === 0 ? null : edge / nginx;
}

/** Runs the comparison; throws only when something that is installed fails. */
export async function measureHttps(o: { cleanup: Cleanup; log: (line: string) => void }): Promise<HttpsBenchResult> {
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

  const dir = await mkdtemp(join(tmpdir(), 'slipway-bench-https-'));
  cleanup.add('remove the https bench dir', () => rm(dir, { recursive: true, force: true }));
  const ca = await createCa('bench local CA', 1);
  const leaf = await issueServerCertificate(ca, ['localhost'], 1);
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  // nginx's worker runs as nobody when the bench is root: the key must be readable to it.
  await writeFile(certFile, leaf.certPem, { mode: 0o644 });
  await writeFile(keyFile, leaf.keyPem, { mode: 0o644 });

  const upstreamPort = await freePort();
  await startNodeFloor({ port: upstreamPort, pin: loadPin, repoRoot, cleanup });
  const upstream = `127.0.0.1:${upstreamPort}`;
  const nginxTls = await freePort();
  const nginx = await startNginx({ nginx: nginxPath, port: await freePort(), files: new Map(), pin: proxyPin, cleanup, proxyTo: upstream, tls: { port: nginxTls, certFile, keyFile } });
  const stateDir = join(dir, 'edge');
  await import('node:fs/promises').then((fs) => fs.mkdir(stateDir, { recursive: true }));
  const edgeTls = await freePort();
  const edgeHttp = await freePort();
  const edgePid = await startNodeScript({
    name: 'https edge', script: 'https-edge-process.ts', args: [String(edgeTls), stateDir, upstream, certFile, keyFile, String(edgeHttp)], pin: proxyPin, repoRoot, cleanup,
  });
  const servers = [
    { name: 'nginx' as const, url: `https://localhost:${nginxTls}${PATH}`, pids: nginx.pids },
    { name: 'edge' as const, url: `https://localhost:${edgeTls}${PATH}`, pids: async () => [edgePid] },
    { name: 'edge (http)' as const, url: `http://localhost:${edgeHttp}${PATH}`, pids: async () => [edgePid] },
  ];
  const ticks = await clockTicks();
  const rows: HttpsRow[] = [];
  for (const mode of ['kept-alive', 'new handshakes'] as const) {
    for (const s of servers) {
      if (s.name === 'edge (http)' && mode !== 'kept-alive') continue;
      log(`  › wrk ${mode} via ${s.name} …`);
      const wrkOptions = {
        wrk, url: s.url, host: HOST, connections: 50, threads: 1, pin: loadPin, cleanup,
        ...(mode === 'new handshakes' ? { headers: ['Connection: close'] } : {}),
      };
      const run = await measureRun({ wrkOptions, pids: await s.pids(), ticks, pinnedCpu: canPin ? 0 : null });
      if (run.result.non2xx > 0 || run.result.requests === 0) throw new Error(`${s.name} answered ${run.result.non2xx} non-2xx of ${run.result.requests} (${mode})`);
      rows.push({ mode, server: s.name, result: run.result, cpuUsPerRequest: run.cpuUsPerRequest });
    }
  }
  return { rows, pinned: canPin };
}

/** The table of the runs and the ratios. */
export function formatHttps(result: HttpsBenchResult): string {
  if (result.skipped) return `  skipped: ${result.skipped}`;
  const lines = result.rows.map((r) =>
    `  ${r.mode.padEnd(15)} ${r.server.padEnd(11)} ${r.result.requestsPerSecond.toFixed(0).padStart(8)} req/s  p99 ${r.result.latencyP99Ms.toFixed(2)} ms  ` +
    `${r.cpuUsPerRequest.toFixed(0)} µs CPU/req  errors ${r.result.socketErrors}`);
  for (const mode of ['kept-alive', 'new handshakes'] as const) {
    const ratio = httpsRatio(result, mode);
    lines.push(`  edge/nginx ${mode}: ${ratio === null ? '—' : `${ratio.toFixed(2)}×`}`);
  }
  return lines.join('\n');
}
