/**
 * The edge's side of a republish, format 1 (one release tar) against format 2 (a manifest plus
 * per-file blobs), in one run on one machine: the bench's 200-file site is republished with only
 * its index.html changed, and each release is loaded by a real release cache from a stand-in
 * control plane on loopback. Prints the load time (release fetch, checks, site build) and the
 * bytes the edge fetched per republish, and their ratios. Standalone:
 * `npx tsx bench/edge-fetch-bench.ts [republishes]`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReleaseCache } from '../src/edge/release-cache.js';
import { silentLogger } from '../src/edge/logger.js';
import { startFakeControlPlane, type FakeControlPlane } from '../test/support/edge/fake-control-plane.js';
import { buildFileRelease, putFileRelease } from '../test/support/edge/file-release.js';
import { buildReleaseTar, type TestFile } from '../test/support/edge/test-helpers.js';
import { createSiteFiles, withMarker, type SiteFiles } from './site-fixture.js';
import { bytes, ms, summarize, table } from './stats.js';

const RUNS = Number(process.argv[2] ?? 20);
const WARMUPS = 2;

/** As the packager does: text gets br and gzip variants, binary does not. */
function asRelease(files: SiteFiles): Record<string, TestFile> {
  const out: Record<string, TestFile> = {};
  for (const [path, content] of files) out[path] = { content, encodings: path.endsWith('.png') ? [] : ['br', 'gzip'] };
  return out;
}

/** Bytes the fake served since `mark` (GET blobs and batch frames' payloads). */
function servedBytes(fake: FakeControlPlane): number {
  let total = 0;
  for (const [sha, count] of fake.blobRequests) total += (fake.blobs.get(sha)?.length ?? 0) * count;
  for (const batch of fake.batchRequests) for (const sha of batch) total += fake.blobs.get(sha)?.length ?? 0;
  return total;
}

async function main(): Promise<void> {
  const fake = await startFakeControlPlane();
  const dirs = [await mkdtemp(join(tmpdir(), 'edge-fetch-1-')), await mkdtemp(join(tmpdir(), 'edge-fetch-2-'))] as const;
  try {
    const config = { serverUrl: fake.url, token: fake.token, logger: silentLogger };
    const caches = [createReleaseCache({ ...config, stateDir: dirs[0] }), createReleaseCache({ ...config, stateDir: dirs[1] })] as const;
    const site = createSiteFiles();
    const times: [number[], number[]] = [[], []];
    const fetched: [number[], number[]] = [[], []];
    for (let i = 0; i < WARMUPS + RUNS; i++) {
      const files = asRelease(withMarker(site, `run-${i}`));
      const tar = buildReleaseTar(files);
      const perFile = buildFileRelease(files);
      fake.blobs.set(tar.sha256, tar.tar);
      putFileRelease(fake.blobs, perFile);
      // Alternate which format goes first, so neither always runs on a warmer machine.
      const order = i % 2 === 0 ? [0, 1] as const : [1, 0] as const;
      for (const f of order) {
        const sha = f === 0 ? tar.sha256 : perFile.sha256;
        const before = servedBytes(fake);
        const start = performance.now();
        const loaded = await caches[f].load(sha);
        const took = performance.now() - start;
        caches[f].pin(new Map([[sha, loaded]]), new Set());
        if (i < WARMUPS) continue;
        times[f].push(took);
        fetched[f].push(servedBytes(fake) - before);
      }
    }
    const [t1, t2] = [summarize(times[0]), summarize(times[1])];
    const [b1, b2] = [summarize(fetched[0]), summarize(fetched[1])];
    process.stdout.write(`Edge load of a republish (200 files, index.html changed), ${RUNS} runs after ${WARMUPS} warm-ups\n`);
    process.stdout.write(`${table([
      ['', 'load p50', 'load p95', 'fetched p50'],
      ['format 1 (release tar)', ms(t1.p50), ms(t1.p95), bytes(b1.p50)],
      ['format 2 (per-file)', ms(t2.p50), ms(t2.p95), bytes(b2.p50)],
      ['format 2 / format 1', (t2.p50 / t1.p50).toFixed(2), (t2.p95 / t1.p95).toFixed(2), (b2.p50 / b1.p50).toFixed(4)],
    ])}\n`);
  } finally {
    await fake.close();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

await main();
