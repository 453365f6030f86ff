/**
 * An edge for bench/scale-bench.ts: the real `createEdgeServer`, following the platform's route
 * stream like the edge `slipway up` runs, in a process of its own so that its event loop can be
 * watched with `perf_hooks.monitorEventLoopDelay` without the load generator in it. It reports
 * over IPC: `{ type: 'listening', startMs }` once `start()` resolved (reading its saved table,
 * restoring it, listening), and answers `{ cmd: 'delay-reset' | 'delay' | 'state' }`.
 *
 * Usage (with an IPC channel): node --import tsx bench/scale-edge-process.ts <port> <stateDir> <serverUrl> <token>
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createEdgeServer } from '../src/edge/edge-server.js';
import { silentLogger } from '../src/edge/logger.js';

const [portArg, stateDir, serverUrl, token] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || !stateDir || !serverUrl || !token || process.send === undefined) {
  throw new Error('usage (with IPC): scale-edge-process.ts <port> <stateDir> <serverUrl> <token>');
}
const send = (message: unknown) => process.send!(message);

// 1 ms resolution: the goal is a route change blocking the loop at most 1 ms at p99.
const delay = monitorEventLoopDelay({ resolution: 1 });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const edge = createEdgeServer({ port, host: '127.0.0.1', baseDomain: 'localhost', serverUrl, token, stateDir, logger: silentLogger });
await edge.start();
const startMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
delay.enable();
// CPU time too: on a busy host the wall time mostly measures the neighbours.
send({ type: 'listening', startMs, startCpuMs: (cpu.user + cpu.system) / 1000, routes: edge.routes.table.current.byId.size });

process.on('message', (message: { cmd: string; id: number }) => {
  switch (message.cmd) {
    case 'delay-reset':
      delay.reset();
      send({ id: message.id });
      break;
    case 'delay':
      // The histogram is in nanoseconds.
      send({ id: message.id, p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6, count: delay.count });
      break;
    case 'state':
      send({ id: message.id, revision: edge.routes.revision, routes: edge.routes.table.current.byId.size, rss: process.memoryUsage().rss });
      break;
    default:
      send({ id: message.id, error: `unknown command ${message.cmd}` });
  }
});

const stop = () => void edge.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
