/**
 * The dynamic-app sections of `npm run bench`, on the platform the run started: a trivial
 * node:http app published as a file map (bench/dynamic-app.ts), measured as
 *   3. publish → promoted, against the app's own boot time measured in the same run,
 *   4. failed requests under a constant load during a publish, a cold rollback, and kill -9 of
 *      a replica, of the server and of the agent,
 *   5. the time to recover from kill -9 of the only instance, of that app and of an Express app
 *      with a `start` script published with no run command (group `mttr` runs only this).
 * The deployments are deleted at the end, so their instances do not share the CPU with the
 * throughput sections that follow.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, repoRoot } from '../test/support/platform.js';
import { measureAppBoot } from './app-boot.js';
import { measureDisruptions, type DisruptionResult } from './disruption-bench.js';
import { ensureDeployment } from './dynamic-app.js';
import { disruptionTargets, formatDisruptions, formatPromotions, promotionTarget } from './dynamic-report.js';
import { measureMttrSections } from './mttr-sections.js';
import { measurePromotions } from './promote-bench.js';
import { log, section, type Context } from './section.js';

const BOOT = { runs: 7, warmups: 1 };
const PROMOTE = { runs: 7, warmups: 1 };
const SLUGS = { promote: 'bench-dyn-promote', disrupt: 'bench-dyn' } as const;

/** Runs sections 3 to 5 and adds their target lines to the summary. */
export async function measureDynamicApps(ctx: Context): Promise<void> {
  const { client, home, httpPort: edgePort } = ctx.platform;
  const runId = Date.now().toString(36);

  const promoted = await section(ctx, `3. Dynamic publish → promoted, against the app's own boot time (${PROMOTE.warmups} warm-up publish and boot not counted)`, async () => {
    const dir = join(ctx.work, 'boot');
    await mkdir(dir, { recursive: true });
    const boot = await measureAppBoot({ dir, ...BOOT, freePort, cleanup: ctx.cleanup });
    await ensureDeployment(client, SLUGS.promote);
    const samples = await measurePromotions({ client, slug: SLUGS.promote, edgePort, runId, ...PROMOTE });
    log(formatPromotions(boot, samples));
    return { boot, samples };
  });
  ctx.summary.push(promotionTarget(promoted?.boot, promoted?.samples));

  const disruptions: DisruptionResult[] = [];
  const disrupted = await section(ctx, '4. Failed requests under constant load, from a separate process, during each disruption', async () => {
    await ensureDeployment(client, SLUGS.disrupt);
    try {
      await measureDisruptions({
        client, home, edgePort, slug: SLUGS.disrupt, repoRoot, runId, cleanup: ctx.cleanup, log, onResult: (r) => disruptions.push(r),
      });
    } finally {
      if (disruptions.length > 0) log(formatDisruptions(disruptions));
    }
    return true;
  });
  ctx.summary.push(...disruptionTargets(disruptions));
  // A platform that did not recover in time could not be measured to the end.
  if (disruptions.some((r) => r.error !== undefined)) process.exitCode = 1;
  if (disrupted === undefined) ctx.summary.push({ what: 'failed requests: the disruptions not reached', goal: '0', measured: '—', verdict: 'ERROR' });

  await measureMttrSections(ctx, runId);
  for (const slug of Object.values(SLUGS)) await client.deleteDeployment(slug).catch(() => undefined);
}
