/**
 * Route change → served through a real edge, and whether the route journal's fsync is on that
 * path. A fake control plane streams alternating upserts of one static deployment (v1, v2, v1,
 * …) to an edge whose state folder is either on the real disk (each journal line is fsynced)
 * or on tmpfs (`/dev/shm`: an fsync costs nothing; both are checked with statfs, and the
 * bench refuses to run when either is not what it should be); the two edges take turns, change
 * by change, so both see the same machine load. For each change it times, from the upsert: the edge
 * serving the new page (polled over one keep-alive connection), the edge's acknowledgement
 * reaching the server, and the journal line being on disk (asked for once the page is served,
 * so never less than that). If the journal held the serving or
 * the acknowledgement, the disk edge would be slower than the tmpfs one by about an fsync.
 *
 * Run: `npx tsx bench/route-switch-bench.ts [changes]` (default 60 per edge, 5 warm-ups).
 */
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEdgeServer, type EdgeServer } from '../src/edge/edge-server.js';
import { silentLogger } from '../src/edge/logger.js';
import { versionRelease } from '../test/support/edge/edge-fixtures.js';
import { startFakeControlPlane, testRoute, type FakeControlPlane } from '../test/support/edge/fake-control-plane.js';
import { createEdgeProbe, now, type EdgeProbe } from './edge-probe.js';
import { ms, summarize } from './stats.js';

const CHANGES = Number(process.argv[2] ?? 60);
const WARMUPS = 5;
const VISIBLE_TIMEOUT_MS = 10_000;
/** `statfs(2)`'s f_type of tmpfs (linux/magic.h). */
const TMPFS_MAGIC = 0x01021994;
const SHM = '/dev/shm';

/**
 * The two state folders' parents, refused unless the comparison means what it says: the disk
 * edge's on a real file system (on tmpfs, as `tmpdir()` is on some machines, both edges would
 * skip the fsync and the ratio would be 1 by construction) and the other on tmpfs.
 */
async function parents(): Promise<{ disk: string; shm: string }> {
  const disk = tmpdir();
  const onTmpfs = async (path: string) => (await statfs(path)).type === TMPFS_MAGIC;
  if (await onTmpfs(disk)) throw new Error(`${disk} (the temporary folder) is tmpfs: set TMPDIR to a folder on a disk`);
  if (!(await onTmpfs(SHM).catch(() => false))) throw new Error(`${SHM} is missing or not tmpfs: nothing to compare the disk with`);
  return { disk, shm: SHM };
}

/** One edge under test, following its own fake control plane. */
interface Subject {
  label: string;
  dir: string;
  fake: FakeControlPlane;
  edge: EdgeServer;
  probe: EdgeProbe;
  /** When the fake received each acknowledged revision. */
  ackedAt: Map<number, number>;
  samples: { servedMs: number[]; ackMs: number[]; durableMs: number[] };
}

const v1 = versionRelease(1);
const v2 = versionRelease(2);

async function startSubject(label: string, parent: string): Promise<Subject> {
  const dir = await mkdtemp(join(parent, 'slipway-route-switch-'));
  const fake = await startFakeControlPlane();
  fake.blobs.set(v1.sha256, v1.tar);
  fake.blobs.set(v2.sha256, v2.tar);
  fake.upsert(testRoute('site', [v1.sha256, v2.sha256], { active: 1 }));
  const ackedAt = new Map<number, number>();
  // The fake records acknowledgements in an array: note when each one arrives.
  const record = fake.acks.push.bind(fake.acks);
  fake.acks.push = (...acks) => {
    for (const ack of acks) if (!ackedAt.has(ack.revision)) ackedAt.set(ack.revision, now());
    return record(...acks);
  };
  const edge = createEdgeServer({
    port: 0, host: '127.0.0.1', baseDomain: 'localhost', logger: silentLogger, serverUrl: fake.url, token: fake.token, stateDir: dir,
  });
  const { port } = await edge.start();
  await edge.routes.waitForRevision(fake.revision);
  const probe = createEdgeProbe({ port, host: 'site.localhost', intervalMs: 1 });
  return { label, dir, fake, edge, probe, ackedAt, samples: { servedMs: [], ackMs: [], durableMs: [] } };
}

/** One change: the other version becomes active; resolves with its timings. */
async function change(s: Subject, i: number): Promise<{ servedMs: number; ackMs: number; durableMs: number }> {
  const to = i % 2 === 0 ? 2 : 1;
  const t0 = now();
  const seen = s.probe.waitForContent('/', `version ${to}`, { timeoutMs: VISIBLE_TIMEOUT_MS });
  const revision = s.fake.upsert(testRoute('site', [v1.sha256, v2.sha256], { active: to }));
  const servedAt = await seen;
  // The journal line of this change is queued by now (the table changed before it was served).
  await s.edge.routes.flushState();
  const durableAt = now();
  const deadline = Date.now() + VISIBLE_TIMEOUT_MS;
  while (!s.ackedAt.has(revision)) {
    if (Date.now() > deadline) throw new Error(`${s.label}: revision ${revision} was never acknowledged`);
    await new Promise((r) => setTimeout(r, 1));
  }
  return { servedMs: servedAt - t0, ackMs: (s.ackedAt.get(revision) as number) - t0, durableMs: durableAt - t0 };
}

async function stopSubject(s: Subject): Promise<void> {
  s.probe.close();
  await s.edge.close();
  await s.fake.close();
  await rm(s.dir, { recursive: true, force: true });
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  const folders = await parents();
  const subjects: Subject[] = [];
  try {
    subjects.push(await startSubject('state on disk (fsync)', folders.disk));
    subjects.push(await startSubject('state on tmpfs', folders.shm));
    for (let i = 0; i < WARMUPS + CHANGES; i++) {
      for (const s of i % 2 === 0 ? subjects : [...subjects].reverse()) {
        const sample = await change(s, i);
        if (i < WARMUPS) continue;
        s.samples.servedMs.push(sample.servedMs);
        s.samples.ackMs.push(sample.ackMs);
        s.samples.durableMs.push(sample.durableMs);
      }
    }
  } finally {
    await Promise.allSettled(subjects.map(stopSubject));
  }
  console.log(`Route change → served through a real edge: ${CHANGES} changes per edge, interleaved (${WARMUPS} warm-ups); load average before: ${load}, after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const row = (name: string, values: number[]) => {
    const x = summarize(values);
    return `  ${name.padEnd(44)} p50 ${ms(x.p50).padStart(9)}  p95 ${ms(x.p95).padStart(9)}  min ${ms(x.min).padStart(9)}  max ${ms(x.max).padStart(9)}`;
  };
  for (const s of subjects) {
    console.log(s.label);
    console.log(row('change → served', s.samples.servedMs));
    console.log(row('change → acknowledged to the server', s.samples.ackMs));
    console.log(row('change → journal line on disk', s.samples.durableMs));
  }
  const [disk, shm] = subjects;
  if (disk !== undefined && shm !== undefined) {
    const ratio = summarize(disk.samples.servedMs).p50 / summarize(shm.samples.servedMs).p50;
    console.log(`served p50, disk / tmpfs: ${ratio.toFixed(2)}`);
  }
}

await main();
