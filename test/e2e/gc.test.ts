// Retention and garbage collection through the real platform: what a dry run shows, what a run
// frees, what keeps serving, and that publishes running at the same moment lose nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { createFsBlobStore } from '../../src/blobs/fs/fs-blob-store.js';
import { releaseBlobs } from '../../src/services/gc/release-refs.js';
import { waitFor } from '../../src/util/wait-for.js';
import type { SlipwayClient, Version } from '../../src/sdk/index.js';
import { startPlatform, type Platform } from '../support/platform.js';

const HOUR = 60 * 60 * 1000;

let platform: Platform;

before(async () => {
  // Keep the newest two releases and nothing for the time window; collect only when asked.
  platform = await startPlatform({ env: { SLIPWAY_RETAIN_VERSIONS: '2', SLIPWAY_RETAIN_DAYS: '0', SLIPWAY_GC_INTERVAL_MS: '0' } });
});
after(async () => {
  await platform?.stop();
});

const blobPath = (sha256: string) => join(platform.home, 'blobs', 'sha256', sha256.slice(0, 2), sha256);

/** Makes every blob stored so far look written two hours ago: past the 1 h grace. */
async function ageAllBlobs(): Promise<void> {
  const top = join(platform.home, 'blobs', 'sha256');
  const then = new Date(Date.now() - 2 * HOUR);
  for (const prefix of await readdir(top)) {
    for (const name of await readdir(join(top, prefix))) await utimes(join(top, prefix, name), then, then);
  }
}

async function publish(client: SlipwayClient, slug: string, body: string): Promise<Version> {
  const result = await client.publish(slug, { files: { 'index.html': body } }, { wait: true });
  assert.equal(result.version.state, 'ready', JSON.stringify(result.version.error));
  return result.version;
}

async function allVersions(client: SlipwayClient, slug: string): Promise<Version[]> {
  const out: Version[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listVersions(slug, { limit: 100, cursor });
    out.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

test('gc: a dry run shows, a run frees; active and retained versions serve; a collected one is refused a rollback and redeploys', async () => {
  const { client } = platform;
  await client.createDeployment({ slug: 'gc-site' });
  for (let n = 1; n <= 5; n++) await publish(client, 'gc-site', `<h1>v${n}</h1>`);
  await ageAllBlobs();

  const dry = await platform.cli(['gc', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  const shown = JSON.parse(dry.stdout);
  assert.equal(shown.dry_run, true);
  assert.deepEqual(shown.versions.map((v: { version_number: number }) => v.version_number).sort(), [1, 2, 3]);
  assert.ok(shown.blobs.count >= 3 && shown.blobs.bytes > 0, JSON.stringify(shown.blobs));
  const v1 = await client.getVersion('gc-site', 1);
  assert.equal(v1.artifact_collected, false, 'a dry run collects nothing');
  assert.ok(existsSync(blobPath(v1.artifact_sha256!)));

  // The edge has v1's release cached (it served it): collection must take it off the edge too.
  const preview = await platform.edge('v1--gc-site.localhost');
  assert.equal(preview.text, '<h1>v1</h1>', `${preview.status} ${preview.text}`);
  const edgeCopies = (sha256: string) => ['tar', 'json'].map((ext) => join(platform.home, 'edge', 'releases', `${sha256}.${ext}`)).filter((p) => existsSync(p));
  assert.ok(edgeCopies(v1.artifact_sha256!).length > 0, 'the edge caches the release it served');

  const run = await platform.cli(['gc']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /deleted the releases of 3 version\(s\)/);
  for (const n of [1, 2, 3]) {
    const v = await client.getVersion('gc-site', n);
    assert.equal(v.artifact_collected, true, `v${n}`);
    assert.equal(v.state, 'ready', 'the record stays as it was');
    assert.equal(existsSync(blobPath(v.artifact_sha256!)), false, `v${n}'s release is gone`);
    assert.ok(existsSync(blobPath(v.source_sha256)), `v${n}'s snapshot stays`);
  }
  // The routes stop listing collected versions: the edge drops their preview hosts (it learns
  // the change asynchronously, hence the wait) and forgets the releases no route names.
  await waitFor(async () => (await platform.edge('v1--gc-site.localhost')).status === 404, { timeoutMs: 10_000, description: 'v1--gc-site to answer 404' });
  await waitFor(() => edgeCopies(v1.artifact_sha256!).length === 0, { timeoutMs: 10_000, description: 'the edge to delete its copy of v1\'s release' });
  const events = await client.listEvents('gc-site', { limit: 100 });
  assert.equal(events.data.filter((e) => e.type === 'version.artifact_collected').length, 3);

  const active = await platform.edge('gc-site.localhost');
  assert.equal(active.text, '<h1>v5</h1>', `${active.status} ${active.text}`);
  const retained = await platform.edge('v4--gc-site.localhost');
  assert.equal(retained.text, '<h1>v4</h1>', `${retained.status} ${retained.text}`);

  await assert.rejects(client.rollback('gc-site', { to: 2 }), (err: { code?: string; status?: number; message?: string }) => {
    assert.equal(err.code, 'release_collected');
    assert.equal(err.status, 409);
    assert.match(err.message ?? '', /redeploy/);
    return true;
  });
  assert.equal((await platform.edge('gc-site.localhost')).text, '<h1>v5</h1>', 'the refused rollback changed nothing');

  const redeployed = await client.redeploy('gc-site', { version: 2 });
  const op = await client.waitForOperation(redeployed.operation!.id);
  assert.equal(op.state, 'succeeded', JSON.stringify(op.error));
  const v6 = await client.getVersion('gc-site', 6);
  assert.equal(v6.state, 'ready');
  assert.equal(v6.artifact_collected, false);
  assert.equal((await platform.edge('gc-site.localhost')).text, '<h1>v2</h1>', 'rebuilt from its snapshot');

  // The redeploy is the newest version now, so the next collection takes v4's release.
  const again = await platform.cli(['gc', '--json']);
  assert.equal(JSON.parse(again.stdout).versions.length, 1, 'v4 now falls outside the newest two');
});

/** A small seeded generator (mulberry32), so a failing interleaving can be run again. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('gc running again and again while publishes run (identical content included) loses no blob anything needs', async () => {
  const { client } = platform;
  const random = seeded(20261207);
  // Few contents, so republishes store releases and snapshots that exist already, some of
  // them only named by versions whose releases are collected (and old enough to be swept).
  const contents = ['<p>alpha</p>', '<p>beta</p>', '<p>gamma</p>'];
  const slugs = ['gc-race-a', 'gc-race-b'];
  for (const slug of slugs) {
    await client.createDeployment({ slug });
    for (let i = 0; i < 4; i++) {
      contents.push(`<p>${slug} ${i}</p>`);
      await publish(client, slug, contents.at(-1)!);
    }
  }
  const pick = () => contents[Math.floor(random() * contents.length)]!;
  await ageAllBlobs();

  let publishing = true;
  const collections: Array<{ versions: number; blobs: number }> = [];
  const collector = (async () => {
    while (publishing || collections.length < 3) {
      const report = await client.gc();
      collections.push({ versions: report.versions.length, blobs: report.blobs.count });
    }
  })();
  try {
    await Promise.all(slugs.map(async (slug) => {
      for (let i = 0; i < 6; i++) await publish(client, slug, pick());
    }));
  } finally {
    publishing = false;
    await collector;
  }
  assert.ok(collections.some((c) => c.blobs > 0), `some collection swept blobs: ${JSON.stringify(collections)}`);

  const blobs = await createFsBlobStore({ root: join(platform.home, 'blobs') });
  for (const slug of slugs) {
    const versions = await allVersions(client, slug);
    assert.equal(versions.length, 10);
    for (const v of versions) {
      assert.ok(await blobs.has(v.source_sha256), `${slug} v${v.version_number}: its snapshot`);
      if (v.state !== 'ready' || v.artifact_collected) continue;
      for (const sha of await releaseBlobs(blobs, { kind: v.kind, artifactSha256: v.artifact_sha256! })) {
        assert.ok(await blobs.has(sha), `${slug} v${v.version_number}: blob ${sha} of its release`);
      }
      const served = await platform.edge(`v${v.version_number}--${slug}.localhost`);
      assert.equal(served.status, 200, `${slug} v${v.version_number} serves`);
      assert.ok(contents.includes(served.text), served.text);
    }
  }
});
