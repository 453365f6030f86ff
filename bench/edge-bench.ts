/**
 * The edge's data plane against nginx, side by side in one run: wrk -t1 -c50 on a 1 KiB and a
 * 100 KiB file, each server pinned to CPU 0 and wrk to CPU 1 (shared/MEASUREMENTS.md). The
 * edge is the real `slipway edge` child of `slipway up`; nginx is a private instance serving
 * the same bytes, and so is a bare node:http server (bench/node-floor.ts), the floor for any
 * Node server, which tells the edge's own cost from node:http's.
 */
import { availableParallelism } from 'node:os';
import type { Cleanup } from './cleanup.js';
import { createEdgeProbe } from './edge-probe.js';
import { startNginx, type Nginx } from './nginx.js';
import { startNodeFloor } from './node-floor-process.js';
import { affinityOf, clockTicks, cpuBusySeconds, cpuSeconds, findEdgePid, findExecutable, pinProcess } from './procs.js';
import { runWrk, type WrkOptions, type WrkResult } from './wrk.js';

/** Warm-up and measured duration of every wrk run, the same for every server. */
export const WARMUP_SECONDS = 2;
export const MEASURE_SECONDS = 8;
const CONNECTIONS = 50;

/** The servers compared: nginx, the node:http floor, the edge. */
export const SERVERS = ['nginx', 'node', 'edge'] as const;
export type ServerName = (typeof SERVERS)[number];

/** One measured wrk run. */
export interface EdgeRow {
  file: string;
  server: ServerName;
  result: WrkResult;
  /** Server CPU time per request (all its processes and threads), in µs. */
  cpuUsPerRequest: number;
  /**
   * Share of the server's CPU that was busy with something other than the server during the
   * run (softirqs of the loopback traffic, other processes); null when not pinned.
   */
  serverCpuOtherShare: number | null;
}

/** What the comparison found; `skipped` explains what could not run. */
export interface EdgeBenchResult {
  rows: EdgeRow[];
  /** Set when wrk is missing: nothing was measured. */
  skipped?: string;
  /** Set when nginx is missing: only the node:http floor and the edge were measured. */
  nginxSkipped?: string;
}

/** Options of {@link measureEdge}. */
export interface EdgeBenchOptions {
  /** The `slipway up` process, whose `edge` child is measured. */
  upPid: number;
  edgePort: number;
  /** Host of a deployment serving `files`. */
  host: string;
  /** URL path → bytes, as served by that deployment. */
  files: ReadonlyMap<string, Buffer>;
  /** The paths to load-test, with their labels. */
  targets: Array<{ label: string; path: string }>;
  freePort: () => Promise<number>;
  /** Where bench/node-floor.ts is. */
  repoRoot: string;
  cleanup: Cleanup;
  log: (line: string) => void;
}

/** Runs the comparison; throws only when something that is installed fails. */
export async function measureEdge(o: EdgeBenchOptions): Promise<EdgeBenchResult> {
  const wrk = await findExecutable('wrk');
  if (wrk === null) return { rows: [], skipped: 'wrk not installed (Debian package `wrk`)' };
  const note = (line: string) => o.log(`  ${line}`);
  const taskset = await findExecutable('taskset');
  const canPin = taskset !== null && availableParallelism() >= 2;
  if (!canPin) note(taskset === null ? 'taskset not found: nothing pinned' : 'one CPU only: nothing pinned');
  const serverPin: [string, string] | null = canPin ? [taskset, '0'] : null;
  const wrkPin: [string, string] | null = canPin ? [taskset, '1'] : null;

  const edgePid = await findEdgePid(o.upPid);
  if (canPin) {
    const original = await affinityOf(taskset, edgePid);
    await pinProcess(taskset, edgePid, '0');
    o.cleanup.add('restore the edge CPU affinity', () => pinProcess(taskset, edgePid, original).catch(() => undefined));
    note(`edge (pid ${edgePid}, all threads), nginx and the node:http floor pinned to CPU 0, wrk to CPU 1`);
  }

  let nginx: Nginx | null = null;
  let nginxSkipped: string | undefined;
  const nginxPath = await findExecutable('nginx');
  if (nginxPath === null) {
    nginxSkipped = 'nginx not installed (Debian package `nginx-light`)';
    note(`skipped nginx: ${nginxSkipped}; measuring the edge alone`);
  } else {
    nginx = await startNginx({ nginx: nginxPath, port: await o.freePort(), files: o.files, pin: serverPin, cleanup: o.cleanup });
    note(`nginx ${nginxPath} on 127.0.0.1:${nginx.port}: 1 worker, sendfile, open_file_cache, access_log off, keepalive_requests 1000000`);
  }

  const floorPort = await o.freePort();
  const floorPid = await startNodeFloor({ port: floorPort, pin: serverPin, repoRoot: o.repoRoot, cleanup: o.cleanup });
  note(`node:http floor (bench/node-floor.ts) on 127.0.0.1:${floorPort}: the same Buffers and header names, no routing`);

  const servers: Array<{ name: ServerName; port: number; pids: () => Promise<number[]> }> = [];
  if (nginx !== null) servers.push({ name: 'nginx', port: nginx.port, pids: nginx.pids });
  servers.push({ name: 'node', port: floorPort, pids: async () => [floorPid] });
  servers.push({ name: 'edge', port: o.edgePort, pids: async () => [edgePid] });
  for (const server of servers) await checkSameBytes(server.port, o);

  const ticks = await clockTicks();
  const rows: EdgeRow[] = [];
  for (const target of o.targets) {
    for (const server of servers) {
      note(`› wrk ${target.label} on ${server.name} …`);
      const wrkOptions = {
        wrk, url: `http://127.0.0.1:${server.port}${target.path}`, host: o.host, connections: CONNECTIONS, threads: 1, pin: wrkPin, cleanup: o.cleanup,
      };
      const measured = await measureRun({ wrkOptions, pids: await server.pids(), ticks, pinnedCpu: canPin ? 0 : null });
      rows.push({ file: target.label, server: server.name, ...measured });
    }
  }
  return { rows, nginxSkipped };
}

/** One warm-up and one measured wrk run, with the server's CPU use during the measured one. */
export async function measureRun(o: {
  wrkOptions: Omit<WrkOptions, 'seconds'>;
  pids: number[];
  ticks: number;
  pinnedCpu: number | null;
}): Promise<Omit<EdgeRow, 'file' | 'server'>> {
  await runWrk({ ...o.wrkOptions, seconds: WARMUP_SECONDS });
  const busy = () => (o.pinnedCpu === null ? Promise.resolve(null) : cpuBusySeconds(o.pinnedCpu, o.ticks));
  const cpuBefore = await cpuSeconds(o.pids, o.ticks);
  const busyBefore = await busy();
  const result = await runWrk({ ...o.wrkOptions, seconds: MEASURE_SECONDS });
  const cpu = (await cpuSeconds(o.pids, o.ticks)) - cpuBefore;
  const busyAfter = await busy();
  return {
    result,
    cpuUsPerRequest: (cpu / Math.max(1, result.requests)) * 1e6,
    serverCpuOtherShare: busyBefore === null || busyAfter === null ? null : Math.max(0, busyAfter - busyBefore - cpu) / result.seconds,
  };
}

/** Both servers must answer every file with 200 and the very same bytes, or the race is unfair. */
async function checkSameBytes(port: number, o: EdgeBenchOptions): Promise<void> {
  const probe = createEdgeProbe({ port, host: o.host, intervalMs: 0 });
  try {
    for (const { path } of o.targets) {
      const expected = o.files.get(path.replace(/^\//, ''));
      const answer = await probe.get(path);
      if (answer.status !== 200 || answer.text !== expected?.toString('utf8')) {
        throw new Error(`port ${port} answered ${path} with ${answer.status} and ${answer.text.length} bytes, not the expected file`);
      }
    }
  } finally {
    probe.close();
  }
}
