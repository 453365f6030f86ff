/**
 * Publish and rollback latency as a user sees it: from the start of the API request until the
 * edge serves the new content. Publishes use the real 200-file site, packed the way the CLI
 * packs it (outside the timing), with a version marker so every publish is a new release.
 */
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packDirectory, type SlipwayClient } from '../src/sdk/index.js';
import { now, type EdgeProbe } from './edge-probe.js';
import { withMarker, writeSite, type SiteFiles } from './site-fixture.js';

/** Delay between two edge requests while waiting for new content: the timing resolution. */
export const POLL_INTERVAL_MS = 2;

/** How long to wait for one publish or rollback to show before the bench gives up. */
const VISIBLE_TIMEOUT_MS = 60_000;

/** A published version and the marker its index.html carries. */
export interface MarkedVersion {
  number: number;
  marker: string;
}

/** One publish, split at the version's own timestamps (server clock = our clock: one host). */
export interface PublishSample {
  version: number;
  /** Request start → the edge served the new index.html. */
  totalMs: number;
  /** Request start → the 202 answer (upload, unpack, snapshot, queued). */
  acceptMs: number;
  /** Request start → `created_at` (upload, unpack, snapshot stored). */
  receiveMs: number;
  /** `created_at` → `started_at`: waiting for the build worker. */
  queuedMs: number;
  /** `started_at` → `finished_at`: unpack, precompress, package, store the release. */
  buildMs: number;
  /** `finished_at` → served: commit, route feed, release download and load on the edge. */
  toEdgeMs: number;
}

/** Options of {@link measurePublishes}. */
export interface PublishBenchOptions {
  client: SlipwayClient;
  probe: EdgeProbe;
  deployment: string;
  /** A scratch folder the site is written to and packed from. */
  siteDir: string;
  site: SiteFiles;
  runs: number;
  warmups: number;
  runId: string;
}

/** Result of {@link measurePublishes}. */
export interface PublishBenchResult {
  samples: PublishSample[];
  archiveBytes: number[];
  /** The last two measured versions: the rollback bench alternates between them. */
  lastTwo: [MarkedVersion, MarkedVersion];
}

/** Publishes `warmups + runs` times (without `wait`) and times each until the edge serves it. */
export async function measurePublishes(o: PublishBenchOptions): Promise<PublishBenchResult> {
  await writeSite(o.siteDir, o.site);
  const samples: PublishSample[] = [];
  const archiveBytes: number[] = [];
  const published: MarkedVersion[] = [];
  for (let i = 0; i < o.warmups + o.runs; i++) {
    const marker = `bench-${o.runId}-${i}`;
    await writeFile(join(o.siteDir, 'index.html'), withMarker(o.site, marker).get('index.html')!);
    const archive = await packDirectory(o.siteDir);
    const t0 = now();
    const answer = await o.client.publish(o.deployment, archive);
    const accepted = now();
    // The version only exists once the 202 is sent, so polling starts then.
    const seen = await o.probe.waitForContent('/', marker, { timeoutMs: VISIBLE_TIMEOUT_MS });
    const version = await o.client.getVersion(o.deployment, answer.version.version_number);
    if (version.state !== 'ready') throw new Error(`version ${version.version_number} is ${version.state}: ${version.error?.message ?? ''}`);
    published.push({ number: version.version_number, marker });
    if (i < o.warmups) continue;
    archiveBytes.push(archive.length);
    const created = Date.parse(version.created_at);
    const started = Date.parse(version.started_at ?? '');
    const finished = Date.parse(version.finished_at ?? '');
    samples.push({
      version: version.version_number,
      totalMs: seen - t0,
      acceptMs: accepted - t0,
      receiveMs: created - t0,
      queuedMs: started - created,
      buildMs: finished - started,
      toEdgeMs: seen - finished,
    });
  }
  const [a, b] = published.slice(-2);
  if (a === undefined || b === undefined) throw new Error('fewer than two versions were published');
  return { samples, archiveBytes, lastTwo: [a, b] };
}

/** One rollback. */
export interface RollbackSample {
  to: number;
  /** Request start → the edge served the target version's index.html. */
  totalMs: number;
  /** Request start → the API's answer. */
  apiMs: number;
}

/** Options of {@link measureRollbacks}. */
export interface RollbackBenchOptions {
  client: SlipwayClient;
  probe: EdgeProbe;
  deployment: string;
  /** Two ready versions; the second is active. */
  versions: [MarkedVersion, MarkedVersion];
  runs: number;
  warmups: number;
}

/** Rolls back `warmups + runs` times, alternating between the two versions. */
export async function measureRollbacks(o: RollbackBenchOptions): Promise<RollbackSample[]> {
  const samples: RollbackSample[] = [];
  for (let i = 0; i < o.warmups + o.runs; i++) {
    const target = o.versions[i % 2]!;
    // The edge may switch before the API answers, so it is polled from the start.
    const stopPolling = new AbortController();
    const t0 = now();
    const seen = o.probe.waitForContent('/', target.marker, { timeoutMs: VISIBLE_TIMEOUT_MS, signal: stopPolling.signal });
    const answered = o.client.rollback(o.deployment, { to: target.number }).then(now, (err: unknown) => {
      stopPolling.abort();
      throw err;
    });
    const [seenAt, answeredAt] = await Promise.all([seen, answered]);
    if (i >= o.warmups) samples.push({ to: target.number, totalMs: seenAt - t0, apiMs: answeredAt - t0 });
  }
  return samples;
}

/** Disk a small static site costs: bytes added to the blob store and to the edge's state. */
export interface SiteDiskSample {
  label: string;
  blobBytes: number;
  edgeBytes: number;
}

/**
 * Publishes a 20 KiB site of ten text files (with `wait`, so the edge has loaded it), then
 * republishes it with one file changed, and measures after each what the blob store
 * (`<home>/blobs`: snapshot, release, build log) and the edge's folder (`<home>/edge`: its copy
 * of the release) grew by. Other deployments must be idle meanwhile.
 */
export async function measureSiteDisk(o: { client: SlipwayClient; home: string; siteDir: string }): Promise<SiteDiskSample[]> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 10; i++) files.set(`page-${i}.html`, Buffer.from(`<p>page ${i} ${'static site bytes '.repeat(113)}</p>\n`.slice(0, 2048)));
  await writeSite(o.siteDir, files);
  const dep = await o.client.createDeployment({ slug: 'bench-disk' });
  const samples: SiteDiskSample[] = [];
  const measure = async (label: string, publish: () => Promise<void>): Promise<void> => {
    const [blobs0, edge0] = [await treeBytes(join(o.home, 'blobs')), await treeBytes(join(o.home, 'edge'))];
    await publish();
    samples.push({ label, blobBytes: (await treeBytes(join(o.home, 'blobs'))) - blobs0, edgeBytes: (await treeBytes(join(o.home, 'edge'))) - edge0 });
  };
  const publish = async (): Promise<void> => {
    const { version } = await o.client.publish(dep.slug, await packDirectory(o.siteDir), { wait: true });
    if (version.state !== 'ready') throw new Error(`version ${version.version_number} is ${version.state}: ${version.error?.message ?? ''}`);
  };
  await measure('first publish', publish);
  await writeFile(join(o.siteDir, 'page-0.html'), `<p>changed ${'x'.repeat(2000)}</p>`);
  await measure('republish, one file changed', publish);
  return samples;
}

/** Bytes of the regular files under `dir` (0 when it is missing). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    // Node 20.19 names the folder `parentPath`; older 20.x only `path`.
    const parent = (entry as { parentPath?: string; path?: string }).parentPath ?? (entry as { path?: string }).path ?? dir;
    total += (await stat(join(parent, entry.name)).catch(() => null))?.size ?? 0;
  }
  return total;
}
