/**
 * Time to recover from a crash with a single replica: kill -9 of the instance's process tree,
 * then the edge is asked every 5 ms (one keep-alive connection) until it answers 200 again.
 * Each run publishes a fresh version first, so every kill is a first crash after a healthy run
 * (which the agent restarts at once; crashes in a row wait 1 s, 2 s, 5 s, …). Before each kill
 * the instance's process tree and its resident memory are read from /proc.
 */
import type { PublishResult, SlipwayClient } from '../src/sdk/index.js';
import { waitFor } from '../src/util/wait-for.js';
import { killInstance, liveInstances, publishApp } from './dynamic-app.js';
import { createEdgeProbe, now } from './edge-probe.js';
import { instanceFootprint, type InstanceFootprint } from './npm-start-app.js';

const POLL_MS = 5;
const RECOVERY_TIMEOUT_MS = 30_000;

/** One kill and recovery. */
export interface MttrSample {
  version: number;
  /** Kill → the first 200 from the edge. */
  mttrMs: number;
  /** Kill → the first answer that was not a 200 (null if none was seen). */
  firstFailureMs: number | null;
  /** What the edge answered meanwhile: `503` / `ECONNRESET` → count. */
  answers: Record<string, number>;
  /** The killed instance's processes and their RSS, just before the kill. */
  footprint: InstanceFootprint;
  /** Kill → the server recorded the instance's restart (`instance.starting`), and its `instance.healthy`. */
  restartEventMs: number | null;
  healthyEventMs: number | null;
}

/** Options of {@link measureMttr}. */
export interface MttrBenchOptions {
  client: SlipwayClient;
  home: string;
  edgePort: number;
  slug: string;
  runs: number;
  runId: string;
  /** Publishes a new version with `marker` and waits for it; the bench's own app by default. */
  publish?: (marker: string) => Promise<PublishResult>;
}

/** Kills the only instance `runs` times, each time of a freshly published version. */
export async function measureMttr(o: MttrBenchOptions): Promise<MttrSample[]> {
  const samples: MttrSample[] = [];
  const probe = createEdgeProbe({ port: o.edgePort, host: `${o.slug}.localhost`, intervalMs: POLL_MS });
  try {
    for (let i = 0; i < o.runs; i++) {
      const marker = `mttr-${o.runId}-${i}`;
      const { version } = await (o.publish ? o.publish(marker) : publishApp(o.client, o.slug, marker));
      const live = await waitFor(async () => {
        const mine = (await liveInstances(o.client, o.slug)).filter((x) => x.version_id === version.id);
        return mine.length === 1 ? mine : null;
      }, { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 50, description: `one healthy instance of v${version.version_number}` });
      if ((await probe.get('/')).status !== 200) throw new Error(`v${version.version_number} is not served before the kill`);
      const footprint = await instanceFootprint(o.home, live[0]!.id);
      const t0 = now();
      await killInstance(o.home, live[0]!.id);
      const answers: Record<string, number> = {};
      let firstFailure: number | null = null;
      for (;;) {
        const answer = await probe.get('/').then((a) => String(a.status), (err: NodeJS.ErrnoException) => err.code ?? err.message);
        if (answer === '200' && firstFailure !== null) break;
        if (answer !== '200') {
          firstFailure ??= now();
          answers[answer] = (answers[answer] ?? 0) + 1;
        }
        // Only 200s for 3 s: nothing was ever down (or the kill did not take); MTTR 0, reported so.
        if (answer === '200' && now() - t0 > 3000) break;
        if (now() - t0 > RECOVERY_TIMEOUT_MS) throw new Error(`the edge did not answer 200 within ${RECOVERY_TIMEOUT_MS} ms of the kill`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const mttrMs = firstFailure === null ? 0 : now() - t0;
      const events = await instanceEventsSince(o, live[0]!.id, t0);
      samples.push({
        version: version.version_number, mttrMs, firstFailureMs: firstFailure === null ? null : firstFailure - t0, answers, footprint,
        restartEventMs: events.starting, healthyEventMs: events.healthy,
      });
    }
  } finally {
    probe.close();
  }
  return samples;
}

/** When (ms after `t0`, server clock) the instance's first `starting` and the next `healthy` event were recorded. */
async function instanceEventsSince(o: Pick<MttrBenchOptions, 'client' | 'slug'>, instanceId: string, t0: number): Promise<{ starting: number | null; healthy: number | null }> {
  const events = (await o.client.listEvents(o.slug, { limit: 50 })).data
    .filter((e) => e.data.runtime_instance_id === instanceId && Date.parse(e.created_at) >= t0 - 5)
    .sort((a, b) => Date.parse(a.created_at) - Date.parse(b.created_at));
  const starting = events.find((e) => e.type === 'instance.starting');
  const healthy = events.find((e) => e.type === 'instance.healthy' && starting !== undefined && Date.parse(e.created_at) >= Date.parse(starting.created_at));
  const at = (e: typeof starting) => (e === undefined ? null : Date.parse(e.created_at) - t0);
  return { starting: at(starting), healthy: at(healthy) };
}
