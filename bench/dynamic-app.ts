/**
 * The dynamic app the bench publishes: a trivial node:http server given as a file map, with
 * health settings short enough that promotion waits on the app rather than on the timers.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { processTree } from '../src/runtime/local/process-tree.js';
import { isSlipwayApiError, type PublishResult, type PublishSetting, type RuntimeInstance, type SlipwayClient } from '../src/sdk/index.js';
import { killTree } from '../test/support/processes.js';
import { instanceHandleDir } from './bench-platform.js';

/** The port the app is told to listen on (`PORT`). */
export const APP_PORT = 3000;
export const RUN_COMMAND = 'node server.js';

/**
 * `server.js`: answers every path with its version, instance and `marker`; a new marker makes
 * a new source, so every publish builds a new release.
 */
export function serverJs(marker: string): string {
  return `const http = require('node:http');
const body = 'hello from v' + process.env.SLIPWAY_VERSION_NUMBER + ' ' + process.env.SLIPWAY_RUNTIME_INSTANCE_ID + ' ' + ${JSON.stringify(marker)} + '\\n';
http.createServer((req, res) => res.end(body)).listen(Number(process.env.PORT));
`;
}

/**
 * One pass to count as healthy, checked every 100 ms (the first check 100 ms after the start);
 * a generous grace for a slow boot; a short drain so a replaced version is cold again soon.
 */
export const APP_SETTINGS: Partial<Record<PublishSetting, number>> = {
  health_healthy_threshold: 1, health_interval_ms: 100, health_timeout_ms: 1000, health_grace_period_ms: 10_000,
  health_unhealthy_threshold: 2, drain_timeout_ms: 2000, replicas: 1,
};

/** Creates the deployment unless it exists. */
export async function ensureDeployment(client: SlipwayClient, slug: string): Promise<void> {
  await client.createDeployment({ slug }).catch((err: unknown) => {
    if (!isSlipwayApiError(err) || err.code !== 'deployment_exists') throw err;
  });
}

/** Publishes the app with `marker` and waits (`wait=true`); throws unless it was promoted. */
export async function publishApp(client: SlipwayClient, slug: string, marker: string): Promise<PublishResult> {
  const result = await client.publish(slug, { files: { 'server.js': serverJs(marker) } }, {
    wait: true, runCommand: RUN_COMMAND, port: APP_PORT, settings: APP_SETTINGS,
  });
  if (!result.promoted || result.version.state !== 'ready') {
    throw new Error(`publish to ${slug} was not promoted: ${result.version.state} ${result.version.error?.message ?? ''}`);
  }
  return result;
}

/** The instances that should be running and are healthy. */
export async function liveInstances(client: SlipwayClient, slug: string): Promise<RuntimeInstance[]> {
  return (await client.listInstances(slug)).filter((i) => i.desired === 'running' && i.state === 'healthy');
}

/** SIGKILLs an instance's whole process tree (its pid from the agent's handle). */
export async function killInstance(home: string, instanceId: string): Promise<number[]> {
  const handle = JSON.parse(await readFile(join(instanceHandleDir(home), `${instanceId}.json`), 'utf8')) as { data: { pid: number } };
  const tree = processTree(handle.data.pid, null);
  killTree(tree);
  return tree;
}
