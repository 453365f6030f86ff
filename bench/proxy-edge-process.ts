/**
 * The edge proxying one dynamic route, for bench/proxy-bench.ts: the route is written to a
 * routes.json in `<stateDir>` and the edge starts from it with no control plane reachable,
 * exactly as it serves through a server restart. Run as its own process so it can be pinned
 * and its CPU time read.
 *
 * Usage: node --import tsx bench/proxy-edge-process.ts <port> <stateDir> <upstream host:port>
 */
import { writeFile } from 'node:fs/promises';
import type { Route } from '../src/core/routes.js';
import { createEdgeServer } from '../src/edge/edge-server.js';
import { silentLogger } from '../src/edge/logger.js';
import { routeStatePath } from '../src/edge/route-state.js';

const [portArg, stateDir, upstream] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port <= 0 || !stateDir || !upstream) throw new Error('usage: proxy-edge-process.ts <port> <stateDir> <upstream>');
const release = { version_number: 1, version_id: 'ver_bench', artifact_sha256: 'b'.repeat(64), kind: 'dynamic' as const, upstreams: [upstream] };
const route: Route = { deployment_id: 'dep_bench', slug: 'bench-proxy', spa_fallback: false, active: release, versions: [release] };
await writeFile(routeStatePath(stateDir), JSON.stringify({ revision: 1, routes: [route] }));
// Nothing listens on port 1: the watcher retries with backoff (up to 5 s), a negligible cost.
const edge = createEdgeServer({
  port, host: '127.0.0.1', baseDomain: 'localhost', serverUrl: 'http://127.0.0.1:1', token: 'bench', stateDir, logger: silentLogger,
});
await edge.start();
process.stdout.write('listening\n');
const stop = () => void edge.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
