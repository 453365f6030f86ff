/**
 * Failed requests under a constant load (bench/load-loop.ts, its own process) while the
 * platform changes or loses a piece: a blue/green publish, a rollback to a cold version, a
 * kill -9 of one of two replicas, and a kill -9 of the server and of the agent (both
 * restarted by `slipway up`). Each disruption runs under its own load, which starts before it
 * and stops once the platform is back to where it was (and a little after).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SlipwayClient } from '../src/sdk/index.js';
import { waitFor } from '../src/util/wait-for.js';
import { edgeRequest } from '../test/support/platform.js';
import { findAgentPid } from '../test/support/processes.js';
import type { Cleanup } from './cleanup.js';
import { killInstance, liveInstances, publishApp } from './dynamic-app.js';
import { startLoad, type LoadReport, type LoadSpec } from './load-loop.js';

/** The load every disruption runs under. */
export const LOAD: Omit<LoadSpec, 'port' | 'host' | 'path'> = {
  rate: 200, connections: 4, windowMs: 250, maxSeconds: 60, maxRequests: 20_000, timeoutMs: 3000,
};
/** Load before the disruption, so its first window is a normal one. */
const LEAD_MS = 500;
/** Load after the platform is back, to catch a late failure. */
const TAIL_MS = 1000;
const RECOVERY_TIMEOUT_MS = 30_000;

/** One disruption and what the load saw. */
export interface DisruptionResult {
  name: string;
  /** What the bench did and saw, for the report. */
  detail: string;
  /** When the disruption started (epoch ms); the report gives windows relative to it. */
  actionAt: number;
  load: LoadReport;
  /** Set when the platform did not get back to its state in time. */
  error?: string;
}

/** Options of {@link measureDisruptions}. */
export interface DisruptionBenchOptions {
  client: SlipwayClient;
  home: string;
  edgePort: number;
  slug: string;
  repoRoot: string;
  runId: string;
  cleanup: Cleanup;
  log: (line: string) => void;
  /** Called with each result as it is measured, so that a later failure loses none. */
  onResult: (result: DisruptionResult) => void;
}

type Action = () => Promise<string>;

async function underLoad(o: DisruptionBenchOptions, name: string, action: Action): Promise<DisruptionResult> {
  o.log(`  › ${name} under load …`);
  const load = await startLoad({ ...LOAD, port: o.edgePort, host: `${o.slug}.localhost`, path: '/', repoRoot: o.repoRoot, cleanup: o.cleanup });
  await new Promise((r) => setTimeout(r, LEAD_MS));
  const actionAt = Date.now();
  let detail: string;
  let error: string | undefined;
  try {
    detail = await action();
    await new Promise((r) => setTimeout(r, TAIL_MS));
  } catch (err) {
    // Reported, and the next disruption still runs: one stuck recovery is a finding, not the end.
    error = (err as Error).message;
    detail = `did not recover: ${error}`;
  }
  return { name, detail, actionAt, load: await load.stop(), error };
}

const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(2)} s`;

async function servedBody(o: DisruptionBenchOptions): Promise<string> {
  const answer = await edgeRequest(o.edgePort, `${o.slug}.localhost`);
  return `${answer.status} ${answer.text.trim()}`;
}

/** Runs every disruption in order on deployment `slug` (which must exist and be empty). */
export async function measureDisruptions(o: DisruptionBenchOptions): Promise<void> {
  const { client, slug } = o;
  const waitUntil = (condition: () => Promise<boolean>, description: string) => waitFor(condition, { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 50, description });
  const v1 = (await publishApp(client, slug, `disrupt-${o.runId}-v1`)).version;

  o.onResult(await underLoad(o, 'publish v2 (blue/green)', async () => {
    const t0 = Date.now();
    const { version } = await publishApp(client, slug, `disrupt-${o.runId}-v2`);
    return `v${version.version_number} promoted ${since(t0)} after the POST; serves "${await servedBody(o)}"`;
  }));

  await waitUntil(async () => (await client.listInstances(slug)).filter((i) => i.version_id === v1.id).every((i) => i.state === 'stopped'), 'v1 drained and stopped');
  o.onResult(await underLoad(o, `rollback to v${v1.version_number} (cold)`, async () => {
    const t0 = Date.now();
    const rolled = await client.rollback(slug, { to: v1.version_number });
    if (!rolled.promoted) throw new Error(`the rollback to v${v1.version_number} was not promoted`);
    return `booted and promoted ${since(t0)} after the POST; serves "${await servedBody(o)}"`;
  }));

  const [web] = await client.listServices(slug);
  if (web === undefined) throw new Error(`${slug} has no web service`);
  await client.updateService(web.id, { desired_replicas: 2 });
  await waitUntil(async () => (await liveInstances(client, slug)).length === 2, 'two healthy replicas');
  o.onResult(await underLoad(o, 'kill -9 one of two replicas', async () => {
    const [victim] = await liveInstances(client, slug);
    const t0 = Date.now();
    const pids = await killInstance(o.home, victim!.id);
    await waitUntil(async () => {
      const live = await liveInstances(client, slug);
      return live.length === 2 && live.some((i) => i.id === victim!.id && i.restart_count === victim!.restart_count + 1);
    }, 'the killed replica restarted and healthy');
    return `killed ${victim!.id} (${pids.length} processes); restarted and healthy after ${since(t0)}`;
  }));
  await client.updateService(web.id, { desired_replicas: 1 });
  await waitUntil(async () => (await client.listInstances(slug)).filter((i) => i.desired === 'running').length === 1, 'back to one replica');

  const serverPid = async () => Number((await readFile(join(o.home, 'server.lock'), 'utf8')).trim());
  o.onResult(await underLoad(o, 'kill -9 the server', async () => {
    const pid = await serverPid();
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    await waitUntil(async () => (await serverPid().catch(() => pid)) !== pid && (await client.healthz().then(() => true, () => false)), 'a new server answering');
    return `pid ${pid} killed; pid ${await serverPid()} answering the API after ${since(t0)}`;
  }));

  o.onResult(await underLoad(o, 'kill -9 the agent', async () => {
    const before = await liveInstances(client, slug);
    const pid = await findAgentPid(o.home);
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    const other = async () => ((await findAgentPid(o.home).catch(() => pid)) !== pid);
    await waitUntil(other, 'a new agent process');
    const restartedAfter = since(t0);
    // Re-adopted, not restarted: the same instances, their restart counts unchanged.
    await new Promise((r) => setTimeout(r, 1500));
    const after = await liveInstances(client, slug);
    const same = before.length === after.length && before.every((b) => after.some((a) => a.id === b.id && a.restart_count === b.restart_count));
    return `pid ${pid} killed; new agent after ${restartedAfter}; instances ${same ? 're-adopted (same ids, no restarts)' : `changed: ${after.map((a) => `${a.id}×${a.restart_count}`).join(', ')}`}`;
  }));
}
