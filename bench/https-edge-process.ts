/**
 * The edge serving HTTPS for one dynamic route, for bench/https-bench.ts: the route goes to a
 * routes.json and the certificate to `tls/certificates.json` in `<stateDir>`, and the edge starts
 * from them with no control plane reachable, as it serves through a server restart. Run as its
 * own process so it can be pinned and its CPU time read.
 *
 * Usage: node --import tsx bench/https-edge-process.ts <httpsPort> <stateDir> <upstream host:port> <cert.pem> <key.pem> [httpPort]
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Route } from '../src/core/routes.js';
import { createEdgeServer } from '../src/edge/edge-server.js';
import { silentLogger } from '../src/edge/logger.js';
import { routeStatePath } from '../src/edge/route-state.js';
import { certificatesFile } from '../src/edge/tls-certificate-watcher.js';

const [portArg, stateDir, upstream, certFile, keyFile, httpPortArg] = process.argv.slice(2);
const httpsPort = Number(portArg);
if (!Number.isInteger(httpsPort) || httpsPort <= 0 || !stateDir || !upstream || !certFile || !keyFile) {
  throw new Error('usage: https-edge-process.ts <httpsPort> <stateDir> <upstream> <cert.pem> <key.pem>');
}
const release = { version_number: 1, version_id: 'ver_bench', artifact_sha256: 'b'.repeat(64), kind: 'dynamic' as const, upstreams: [upstream] };
const route: Route = { deployment_id: 'dep_bench', slug: 'bench-proxy', spa_fallback: false, active: release, versions: [release] };
await writeFile(routeStatePath(stateDir), JSON.stringify({ revision: 1, routes: [route] }));
await mkdir(join(stateDir, 'tls'), { recursive: true });
const certificate = { id: 'crt_bench', hostname: 'localhost', cert_pem: await readFile(certFile, 'utf8'), key_pem: await readFile(keyFile, 'utf8'), not_after: '2100-01-01T00:00:00.000Z' };
await writeFile(certificatesFile(stateDir), JSON.stringify({ revision: 1, certificates: [certificate] }), { mode: 0o600 });
// Nothing listens on port 1: the watchers retry with backoff (up to 5 s), a negligible cost.
const edge = createEdgeServer({
  port: Number(httpPortArg ?? 0), httpsPort, host: '127.0.0.1', baseDomain: 'localhost', serverUrl: 'http://127.0.0.1:1', token: 'bench', stateDir, logger: silentLogger,
  onUnknownHost: null,
});
await edge.start();
process.stdout.write('listening\n');
const stop = () => void edge.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
