/**
 * `npm run bench -- gc`: garbage collection of a home with 1,000 versions (100 deployments × 10
 * versions, rows inserted in bulk, each with real blobs: a 16 KiB snapshot, a 32 KiB release and
 * a build log, all aged past the grace time). With SLIPWAY_RETAIN_VERSIONS=3 and
 * SLIPWAY_RETAIN_DAYS=0, 700 releases go. Measures `slipway gc --dry-run` and `slipway gc`
 * through the real CLI (wall time, the server's own duration, blobs and bytes freed, and the
 * blob folder's size before and after). PGlite only: the rows go in while no server runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFsBlobStore } from '../src/blobs/fs/fs-blob-store.js';
import { openPgliteStore } from '../src/store/pglite/pglite-store.js';
import { deployments, projects, rings, tenants, versions } from '../src/store/schema.js';
import { freePort, startPlatform, type Platform } from '../test/support/platform.js';
import { testDatabaseUrl } from '../test/support/test-store.js';
import { claimHostNames, cleanHostOf } from './host-cleanup.js';
import { log, section, type Context } from './section.js';
import { bytes, ms, table } from './stats.js';

const DEPLOYMENTS = 100;
const VERSIONS_EACH = 10;
const KEEP = 3;
const ENV = { SLIPWAY_GC_INTERVAL_MS: '0', SLIPWAY_RETAIN_VERSIONS: String(KEEP), SLIPWAY_RETAIN_DAYS: '0' };

/** The `gc` section of `npm run bench`. */
export async function gcSection(ctx: Context): Promise<void> {
  let skipped: string | undefined;
  const result = await section(ctx, `12. Garbage collection: ${DEPLOYMENTS * VERSIONS_EACH} versions (${DEPLOYMENTS} deployments × ${VERSIONS_EACH}), keep the newest ${KEEP}`, async () => {
    if (testDatabaseUrl) {
      skipped = 'the bulk rows go into PGlite; unset SLIPWAY_TEST_DATABASE_URL';
      log(`  skipped: ${skipped}`);
      return undefined;
    }
    const home = await mkdtemp(join(tmpdir(), 'slipway-gc-bench-'));
    ctx.cleanup.add('remove the gc bench home', () => rm(home, { recursive: true, force: true }));
    // The same ports for both starts: the CLI finds the API where the first start's
    // credentials.json says it is.
    const names = claimHostNames('g');
    const env = { ...ENV, ...names.env, SLIPWAY_API_PORT: String(await freePort()), SLIPWAY_HTTP_PORT: String(await freePort()), SLIPWAY_HTTPS_PORT: String(await freePort()) };
    ctx.cleanup.add('clean the host of the gc bench home', async () => {
      try {
        await cleanHostOf(home, env);
      } finally {
        names.release();
      }
    });
    // A first start makes the database, the tenant and the admin key.
    let platform: Platform = await startPlatform({ home, env });
    await platform.stop();
    const filled = await fill(home);
    const before = await folderBytes(join(home, 'blobs'));
    platform = await startPlatform({ home, env });
    ctx.cleanup.add('stop the gc bench platform', () => platform.stop());
    const dry = await timedGc(platform, ['gc', '--dry-run', '--json']);
    const real = await timedGc(platform, ['gc', '--json']);
    const again = await timedGc(platform, ['gc', '--json']);
    await platform.stop();
    const afterBytes = await folderBytes(join(home, 'blobs'));
    log(`  filled in ${ms(filled.ms)}: ${filled.blobs} blobs, blob folder ${bytes(before)}`);
    log(table([
      ['run', 'wall (CLI)', 'server', 'versions', 'blobs deleted', 'bytes freed', 'blobs kept'],
      ...[['dry run', dry], ['gc', real], ['gc again', again]].map(([label, r]) => {
        const t = r as Timed;
        return [label as string, ms(t.wallMs), ms(t.report.duration_ms), String(t.report.versions.length), String(t.report.blobs.count), bytes(t.report.blobs.bytes), String(t.report.kept_blobs.count)];
      }),
    ]));
    log(`  blob folder ${bytes(before)} → ${bytes(afterBytes)}`);
    return real;
  });
  ctx.summary.push({
    what: `slipway gc, ${DEPLOYMENTS * VERSIONS_EACH} versions`, goal: 'measured',
    measured: result ? `${ms(result.wallMs)}, ${bytes(result.report.blobs.bytes)} freed` : (skipped ? `skipped: ${skipped}` : '—'),
    verdict: result ? 'PASS' : skipped ? 'SKIP' : 'ERROR',
  });
}

interface GcReportJson {
  duration_ms: number;
  versions: unknown[];
  blobs: { count: number; bytes: number };
  kept_blobs: { count: number; bytes: number };
}

interface Timed {
  wallMs: number;
  report: GcReportJson;
}

async function timedGc(platform: Platform, args: string[]): Promise<Timed> {
  const started = performance.now();
  const out = await platform.cli(args);
  const wallMs = performance.now() - started;
  if (out.code !== 0) throw new Error(`slipway ${args.join(' ')} failed: ${out.stderr}`);
  return { wallMs, report: JSON.parse(out.stdout) as GcReportJson };
}

/** Inserts the deployments and versions with their blobs, then ages every blob by two hours. */
async function fill(home: string): Promise<{ ms: number; blobs: number }> {
  const started = performance.now();
  const store = await openPgliteStore({ dataDir: join(home, 'db') });
  const blobs = await createFsBlobStore({ root: join(home, 'blobs') });
  let count = 0;
  try {
    const [tenant] = await store.db.select().from(tenants).limit(1);
    const [project] = await store.db.select().from(projects).limit(1);
    const now = new Date();
    for (let d = 0; d < DEPLOYMENTS; d++) {
      const depId = `dep_gcbench${String(d).padStart(4, '0')}`;
      await store.db.insert(deployments).values({
        id: depId, tenantId: tenant!.id, projectId: project!.id, slug: `gc-bench-${d}`, name: `gc-bench-${d}`,
        nextVersionNumber: VERSIONS_EACH + 1, createdAt: now, updatedAt: now,
      });
      const rows = [];
      for (let n = 1; n <= VERSIONS_EACH; n++) {
        const source = await blobs.put(randomBytes(16 * 1024));
        // Shaped like a format-1 release tar (its first entry's name first), not a file manifest.
        const release = await blobs.put(Buffer.concat([Buffer.from('release.json'), randomBytes(32 * 1024)]));
        const buildLog = await blobs.put(Buffer.from(`build log of ${depId} v${n}\n`));
        count += 3;
        rows.push({
          id: `ver_gcbench${String(d).padStart(4, '0')}${String(n).padStart(3, '0')}`, tenantId: tenant!.id, deploymentId: depId, versionNumber: n,
          kind: 'static', state: 'ready', sourceSha256: source.sha256, artifactSha256: release.sha256, buildLogSha256: buildLog.sha256,
          createdBy: 'bench', createdAt: now, finishedAt: now,
        });
      }
      await store.db.insert(versions).values(rows);
      await store.db.insert(rings).values({ id: `rng_gcbench${d}`, deploymentId: depId, name: 'production', activeVersionId: rows.at(-1)!.id, updatedAt: now });
    }
  } finally {
    await store.close();
  }
  const then = new Date(Date.now() - 2 * 60 * 60 * 1000);
  const top = join(home, 'blobs', 'sha256');
  for (const prefix of await readdir(top)) for (const name of await readdir(join(top, prefix))) await utimes(join(top, prefix, name), then, then);
  return { ms: performance.now() - started, blobs: count };
}

async function folderBytes(dir: string): Promise<number> {
  let sum = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    sum += entry.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return sum;
}
