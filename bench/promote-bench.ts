/**
 * Dynamic publish → promoted, as a user of `publish --wait` sees it: from the POST until its
 * answer, split at the version's timestamps and its events (one host: the server's clock is
 * ours), plus how long after the answer the edge serves the new version.
 */
import type { SlipwayClient } from '../src/sdk/index.js';
import { publishApp } from './dynamic-app.js';
import { createEdgeProbe, now } from './edge-probe.js';

/** One publish. */
export interface PromoteSample {
  version: number;
  /** POST → answer (`wait=true`, promoted). */
  totalMs: number;
  /** POST → `created_at`: upload and snapshot. */
  receiveMs: number;
  /** `created_at` → `started_at`: waiting for the build worker. */
  queuedMs: number;
  /** `started_at` → `rollout.deploying`: build and package the release. */
  buildMs: number;
  /** `rollout.deploying` → first `instance.healthy`: assign, start in the sandbox, boot, health check. */
  bootMs: number;
  /** `instance.healthy` → `finished_at`: all healthy, promote. */
  promoteMs: number;
  /** `finished_at` → the answer. */
  answerMs: number;
  /** The answer → the edge serves the new version (polled every 2 ms). */
  edgeMs: number;
}

/** Options of {@link measurePromotions}. */
export interface PromoteBenchOptions {
  client: SlipwayClient;
  slug: string;
  edgePort: number;
  runs: number;
  warmups: number;
  runId: string;
}

const at = (iso: string | null | undefined) => (iso ? Date.parse(iso) : Number.NaN);

/** Publishes `warmups + runs` new versions of the app, one after the other. */
export async function measurePromotions(o: PromoteBenchOptions): Promise<PromoteSample[]> {
  const samples: PromoteSample[] = [];
  for (let i = 0; i < o.warmups + o.runs; i++) {
    const marker = `promote-${o.runId}-${i}`;
    const t0 = now();
    const result = await publishApp(o.client, o.slug, marker);
    const answered = now();
    const probe = createEdgeProbe({ port: o.edgePort, host: new URL(result.deployment.public_url).hostname, intervalMs: 2 });
    let seen: number;
    try {
      seen = await probe.waitForContent('/', marker, { timeoutMs: 10_000 });
    } finally {
      probe.close();
    }
    if (i < o.warmups) continue;
    const v = result.version;
    const events = (await o.client.listEvents(o.slug, { limit: 100 })).data.filter((e) => e.version_id === v.id);
    const first = (type: string) => Math.min(...events.filter((e) => e.type === type).map((e) => at(e.created_at)));
    const deploying = first('rollout.deploying');
    const healthy = first('instance.healthy');
    samples.push({
      version: v.version_number,
      totalMs: answered - t0,
      receiveMs: at(v.created_at) - t0,
      queuedMs: at(v.started_at) - at(v.created_at),
      buildMs: deploying - at(v.started_at),
      bootMs: healthy - deploying,
      promoteMs: at(v.finished_at) - healthy,
      answerMs: answered - at(v.finished_at),
      edgeMs: seen - answered,
    });
  }
  return samples;
}
