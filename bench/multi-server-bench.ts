/**
 * Two servers sharing one PostgreSQL database, each with its own edge (own homes, one blob
 * directory, one secrets key): how long a route change made through server A takes to be
 * served by the edge attached to server B. Rolls a static site back and forth through A's API
 * and polls both edges from the moment the request is sent; B − A isolates what crossing
 * servers (NOTIFY, B's route feed, B's stream) adds to the local path. Uses
 * SLIPWAY_TEST_DATABASE_URL when set, else a throwaway PostgreSQL of its own; skipped with the
 * reason when neither is possible.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform, type Platform } from '../test/support/platform.js';
import { createTestDatabase, testDatabaseUrl } from '../test/support/test-store.js';
import { claimHostNames, cleanHostOf } from './host-cleanup.js';
import { createEdgeProbe, now } from './edge-probe.js';
import { verdict } from './report.js';
import { log, section, type Context } from './section.js';
import { ms, percentile, summarize, table } from './stats.js';
import { startThrowawayPostgres } from './throwaway-postgres.js';

/** The goal: every edge learns every change within this. */
export const PROPAGATION_P99_MS = 100;
const RUNS = 200;
const WARMUPS = 5;
const POLL_MS = 2;
const VISIBLE_TIMEOUT_MS = 10_000;

/** One change. */
interface Sample {
  /** Request to A sent → A's edge serves the change. */
  localMs: number;
  /** Request to A sent → B's edge serves it. */
  remoteMs: number;
}

/** Section 11 of `npm run bench` (group `multi`). */
export async function multiServerSection(ctx: Context): Promise<void> {
  let skipped: string | undefined;
  const samples = await section(ctx, `11. Two servers on one PostgreSQL: rollback through server A → served by the edge on server B (${RUNS} changes, ${WARMUPS} warm-ups not counted)`, async () => {
    const database = await sharedDatabase(ctx);
    if ('skipped' in database) {
      skipped = database.skipped;
      log(`  skipped: ${skipped}`);
      return undefined;
    }
    const [a, b] = await twoPlatforms(ctx, database.url);
    const measured = await measure(a, b);
    const remote = measured.map((s) => s.remoteMs);
    const local = measured.map((s) => s.localMs);
    const rows = [['', 'p50', 'p99', 'max'], ...[
      ['edge on B (other server)', remote], ['edge on A (same server)', local], ['B − A', measured.map((s) => s.remoteMs - s.localMs)],
    ].map(([label, values]) => [label as string, ms(percentile(values as number[], 50)), ms(percentile(values as number[], 99)), ms(summarize(values as number[]).max)])];
    log(table(rows));
    return measured;
  });
  const p99 = samples ? percentile(samples.map((s) => s.remoteMs), 99) : null;
  ctx.summary.push({
    what: 'two-server propagation (A → edge on B), p99', goal: `≤ ${PROPAGATION_P99_MS} ms`,
    measured: p99 === null ? (skipped ? `skipped: ${skipped}` : '—') : ms(p99),
    verdict: skipped ? 'SKIP' : p99 === null ? 'ERROR' : verdict(p99, PROPAGATION_P99_MS, true),
  });
}

async function sharedDatabase(ctx: Context): Promise<{ url: string } | { skipped: string }> {
  if (testDatabaseUrl) {
    const database = await createTestDatabase();
    ctx.cleanup.add('drop the two-server database', () => database.drop());
    return { url: database.url };
  }
  return startThrowawayPostgres(ctx.cleanup);
}

async function twoPlatforms(ctx: Context, url: string): Promise<[Platform, Platform]> {
  const root = await mkdtemp(join(tmpdir(), 'slipway-bench-multi-'));
  ctx.cleanup.add('remove the two-server homes', () => rm(root, { recursive: true, force: true }));
  const shared = { SLIPWAY_DATABASE_URL: url, SLIPWAY_BLOB_DIR: join(root, 'blobs'), SLIPWAY_SECRETS_KEY: randomBytes(32).toString('base64') };
  const platforms: Platform[] = [];
  for (const name of ['a', 'b']) {
    const home = join(root, name);
    await mkdir(home);
    const names = claimHostNames('p');
    const env = { ...shared, ...names.env, SLIPWAY_HOST_ID: `bench-${name}` };
    ctx.cleanup.add(`clean the host of server ${name.toUpperCase()}`, async () => {
      try {
        await cleanHostOf(home, env);
      } finally {
        names.release();
      }
    });
    log(`  starting server ${name.toUpperCase()} (slipway up, home ${home}) …`);
    const platform = await startPlatform({ home, env });
    ctx.cleanup.add(`stop server ${name.toUpperCase()}`, () => platform.stop());
    platforms.push(platform);
  }
  return platforms as [Platform, Platform];
}

async function measure(a: Platform, b: Platform): Promise<Sample[]> {
  const slug = 'bench-multi';
  const dep = await a.client.createDeployment({ slug });
  const markers = ['multi-one', 'multi-two'];
  for (const marker of markers) {
    const { version } = await a.client.publish(slug, { files: { 'index.html': `<h1>${marker}</h1>` } }, { wait: true });
    if (version.state !== 'ready') throw new Error(`version ${version.version_number} is ${version.state}: ${version.error?.message ?? ''}`);
  }
  const host = new URL(dep.public_url).hostname;
  const probes = [a, b].map((p) => createEdgeProbe({ port: p.httpPort, host, intervalMs: POLL_MS }));
  try {
    await probes[1]!.waitForContent('/', markers[1]!, { timeoutMs: 30_000 });
    const samples: Sample[] = [];
    for (let i = 0; i < WARMUPS + RUNS; i++) {
      const to = i % 2; // version 1 (markers[0]) first: version 2 is live
      const t0 = now();
      const seen = probes.map((p) => p.waitForContent('/', markers[to]!, { timeoutMs: VISIBLE_TIMEOUT_MS }));
      // Handled below; this only keeps a failed rollback from leaving them unhandled meanwhile.
      for (const p of seen) p.catch(() => undefined);
      await a.client.rollback(slug, { to: to + 1 });
      const [localAt, remoteAt] = await Promise.all(seen);
      if (i >= WARMUPS) samples.push({ localMs: localAt! - t0, remoteMs: remoteAt! - t0 });
    }
    return samples;
  } finally {
    for (const p of probes) p.close();
  }
}
