/**
 * Time to recover from a crash with a single replica: kill -9 of the instance's process tree,
 * then the edge is asked every 5 ms (one keep-alive connection) until it answers 200 again.
 * Each run publishes a fresh version first, so every kill is a first crash (the agent's
 * backoff grows with crashes in a row: 1 s, 2 s, 5 s, …).
 */
import type { SlipwayClient } from '../src/sdk/index.js';
import { waitFor } from '../src/util/wait-for.js';
import { killInstance, liveInstances, publishApp } from './dynamic-app.js';
import { createEdgeProbe, now } from './edge-probe.js';

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
}

/** Options of {@link measureMttr}. */
export interface MttrBenchOptions {
  client: SlipwayClient;
  home: string;
  edgePort: number;
  slug: string;
  runs: number;
  runId: string;
}

/** Kills the only instance `runs` times, each time of a freshly published version. */
export async function measureMttr(o: MttrBenchOptions): Promise<MttrSample[]> {
  const samples: MttrSample[] = [];
  const probe = createEdgeProbe({ port: o.edgePort, host: `${o.slug}.localhost`, intervalMs: POLL_MS });
  try {
    for (let i = 0; i < o.runs; i++) {
      const { version } = await publishApp(o.client, o.slug, `mttr-${o.runId}-${i}`);
      const live = await waitFor(async () => {
        const mine = (await liveInstances(o.client, o.slug)).filter((x) => x.version_id === version.id);
        return mine.length === 1 ? mine : null;
      }, { timeoutMs: RECOVERY_TIMEOUT_MS, intervalMs: 50, description: `one healthy instance of v${version.version_number}` });
      if ((await probe.get('/')).status !== 200) throw new Error(`v${version.version_number} is not served before the kill`);
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
      samples.push({ version: version.version_number, mttrMs: firstFailure === null ? 0 : now() - t0, firstFailureMs: firstFailure === null ? null : firstFailure - t0, answers });
    }
  } finally {
    probe.close();
  }
  return samples;
}
