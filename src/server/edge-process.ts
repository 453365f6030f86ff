import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { createEdgeServer, type EdgeServer } from '../edge/edge-server.js';
import { homePaths, type SlipwayConfig } from './config.js';
import { removeEdgeRecord, writeEdgeRecord } from './edge-record.js';

/** The internal key for the edge and agents: `SLIPWAY_INTERNAL_TOKEN`, else the home's file. */
export async function readInternalToken(config: SlipwayConfig, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.SLIPWAY_INTERNAL_TOKEN) return env.SLIPWAY_INTERNAL_TOKEN;
  const file = homePaths(config.home).internalToken;
  const token = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (!token) {
    throw new SlipwayError('unauthorized', `no internal key at ${file}: start slipway server once (it writes it) or set SLIPWAY_INTERNAL_TOKEN`);
  }
  return token;
}

/** Where the control plane is, as the edge and agents reach it. */
export function serverUrl(config: SlipwayConfig, env: NodeJS.ProcessEnv = process.env): string {
  return env.SLIPWAY_SERVER_URL || `http://${config.apiHost === '0.0.0.0' ? '127.0.0.1' : config.apiHost}:${config.apiPort}`;
}

/**
 * Starts `slipway edge`: serves the last known routes from its own state directory at once,
 * then follows the server's route stream. Once it listens it records itself in `edge/edge.json`
 * (edge-record.ts), so that an `up` started later can adopt it.
 */
export async function startEdge(config: SlipwayConfig): Promise<EdgeServer & { port: number; httpsPort?: number }> {
  const edge = createEdgeServer({
    port: config.httpPort,
    httpsPort: config.httpsPort === 0 ? undefined : config.httpsPort,
    host: config.httpHost,
    baseDomain: config.baseDomain,
    serverUrl: serverUrl(config),
    token: await readInternalToken(config),
    stateDir: join(homePaths(config.home).edge),
    tunnelIdleTimeoutMs: config.edgeTunnelIdleTimeoutMs,
    memoryBytes: config.edgeMemoryBytes,
    diskCacheMaxBytes: config.edgeCacheMaxBytes,
    affinityCookie: config.edgeAffinityCookie,
  });
  const { port, httpsPort } = await edge.start();
  const edgeDir = homePaths(config.home).edge;
  await writeEdgeRecord(edgeDir);
  return {
    ...edge,
    port,
    httpsPort,
    async close() {
      await edge.close();
      await removeEdgeRecord(edgeDir);
    },
  };
}
