/**
 * Section 5 of `npm run bench` (in group `dynamic`, or alone as group `mttr`): the time to
 * recover from kill -9 of the only instance, and what that instance costs.
 *   5.  the bench's own app (`node server.js`, checks every 100 ms);
 *   5b. an Express app as users write it (a `start` script, default health checks), twice,
 *       kill for kill in turn so both see the same machine: as detection runs it now, and with
 *       `run_command: "npm start"`, as it ran before start scripts were run directly.
 */
import type { PublishResult } from '../src/sdk/index.js';
import { RUN_COMMAND, ensureDeployment } from './dynamic-app.js';
import { formatMttr, mttrTarget } from './dynamic-report.js';
import { measureMttr, type MttrSample } from './mttr-bench.js';
import { createNpmStartApp } from './npm-start-app.js';
import { TARGETS } from './report.js';
import { log, section, type Context } from './section.js';

const MTTR_RUNS = 3;
const SLUGS = { own: 'bench-dyn-mttr', detected: 'bench-dyn-mttr-express', npmStart: 'bench-dyn-mttr-npm' } as const;

/** Runs sections 5 and 5b and adds their target lines to the summary. */
export async function measureMttrSections(ctx: Context, runId = Date.now().toString(36)): Promise<void> {
  const { client, home, httpPort: edgePort } = ctx.platform;
  const own = await section(ctx, '5. MTTR: kill -9 of the only instance (replicas=1) → the edge answers 200 again', async () => {
    await ensureDeployment(client, SLUGS.own);
    const samples = await measureMttr({ client, home, edgePort, slug: SLUGS.own, runs: MTTR_RUNS, runId });
    log(formatMttr(samples, `the bench app (\`${RUN_COMMAND}\`, checks every 100 ms)`));
    return samples;
  });
  ctx.summary.push(mttrTarget(own));

  const express = await section(ctx, '5b. MTTR of an Express app with a start script, default health checks: as detected, and as `npm start` (kills alternate)', async () => {
    const app = await createNpmStartApp();
    ctx.cleanup.add('remove the Express project', () => app.remove());
    const variants = [
      { slug: SLUGS.detected, runCommand: undefined, samples: [] as MttrSample[], shown: '?' },
      { slug: SLUGS.npmStart, runCommand: 'npm start', samples: [] as MttrSample[], shown: 'npm start' },
    ];
    for (const v of variants) await ensureDeployment(client, v.slug);
    for (let i = 0; i < MTTR_RUNS; i++) {
      for (const v of variants) {
        const publish = async (marker: string): Promise<PublishResult> => {
          const result = await app.publish(client, { slug: v.slug, marker, runCommand: v.runCommand });
          const buildLog = await client.getBuildLog(v.slug, result.version.version_number);
          v.shown = /; run `(.*)` on port/.exec(buildLog)?.[1] ?? v.runCommand ?? '?';
          return result;
        };
        v.samples.push(...(await measureMttr({ client, home, edgePort, slug: v.slug, runs: 1, runId: `${runId}-${i}`, publish })));
      }
    }
    for (const v of variants) log(formatMttr(v.samples, `Express, run command \`${v.shown}\``));
    return { detected: variants[0]!.samples, npmStart: variants[1]!.samples };
  });
  ctx.summary.push(mttrTarget(express?.detected, 'Express, start script as detected', TARGETS.mttrNpmStartMs));
  ctx.summary.push(mttrTarget(express?.npmStart, 'Express, `npm start`', TARGETS.mttrNpmStartMs));
  for (const slug of Object.values(SLUGS)) await client.deleteDeployment(slug).catch(() => undefined);
}
