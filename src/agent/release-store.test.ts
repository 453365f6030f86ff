import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { sha256File } from '../util/sha256.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { ReleaseStore } from './release-store.js';

let work: string;
before(async () => {
  work = await makeTempDir('release-store-test-');
});
after(async () => {
  await removeDir(work);
});

/** A real dynamic release tar (gzipped: release.json, then app/) whose app prints `name`. */
async function makeRelease(name: string): Promise<{ path: string; sha256: string }> {
  const src = join(work, `src-${name}`);
  await mkdir(join(src, 'app'), { recursive: true });
  await writeFile(join(src, 'release.json'), JSON.stringify({ format: 1, kind: 'dynamic', run_command: 'node server.js', port: 3000, detected: 'node' }));
  await writeFile(join(src, 'app', 'server.js'), `console.log(${JSON.stringify(name)});\n`);
  const path = join(work, `${name}.tar`);
  await tar.c({ cwd: src, file: path, portable: true, gzip: true }, ['release.json', 'app']);
  return { path, sha256: (await sha256File(path)).sha256 };
}

/** A control plane that serves release blobs from files, each download waiting for `gate`. */
function blobClient(blobs: Map<string, string>): ControlPlaneClient & { downloads: string[]; gate: Promise<void> | null } {
  const unused = (): never => {
    throw new Error('not used by the release store');
  };
  const client = {
    downloads: [] as string[],
    gate: null as Promise<void> | null,
    assignments: unused, report: unused, shipLogs: unused,
    async download(sha256: string) {
      client.downloads.push(sha256);
      await client.gate;
      const path = blobs.get(sha256);
      if (path === undefined) throw new Error(`no blob ${sha256}`);
      return Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    },
  };
  return client;
}

/** A store over a fresh folder with a clock the test moves. */
async function setup(name: string, releaseNames: string[], options: { graceMs?: number; maxUnused?: number } = {}) {
  const made = await Promise.all(releaseNames.map((n) => makeRelease(`${name}-${n}`)));
  const client = blobClient(new Map(made.map((r) => [r.sha256, r.path])));
  const clock = { ms: 1_000_000 };
  const dir = join(work, `releases-${name}`);
  const store = new ReleaseStore(dir, client, { graceMs: options.graceMs ?? 60_000, maxUnused: options.maxUnused ?? 10, now: () => clock.ms });
  const onDisk = async () => (await readdir(dir).catch(() => [] as string[])).filter((e) => !e.startsWith('.')).sort();
  return { store, client, clock, dir, onDisk, shas: made.map((r) => r.sha256) };
}

test('a release no instance uses is removed once the grace is over; a running one stays', async () => {
  const { store, clock, onDisk, shas } = await setup('grace', ['running', 'stopped']);
  const [running, stopped] = shas as [string, string];
  await store.appDir(running);
  await store.appDir(stopped);
  const inUse = () => new Set([running]);

  assert.deepEqual((await store.sweep(inUse)).removed, [], 'within the grace nothing goes');
  assert.deepEqual(await onDisk(), [running, stopped].sort());

  clock.ms += 60_001;
  const r = await store.sweep(inUse);
  assert.deepEqual(r.removed, [stopped]);
  assert.deepEqual(await onDisk(), [running], 'the running instance keeps its release, however old');
  assert.match(await readFile(join(await store.appDir(running), 'server.js'), 'utf8'), /grace-running/);
});

test('past the most kept unused releases, the least recently used go within the grace', async () => {
  const { store, clock, onDisk, shas } = await setup('count', ['a', 'b', 'c'], { maxUnused: 1 });
  for (const sha of shas) {
    await store.appDir(sha);
    clock.ms += 1000;
  }
  const r = await store.sweep(() => new Set());
  assert.deepEqual(r.removed.sort(), [shas[0], shas[1]].sort());
  assert.deepEqual(await onDisk(), [shas[2]], 'the newest unused one is kept');
});

test('a sweep while the same release is downloaded and unpacked leaves it whole', async () => {
  const { store, client, clock, onDisk, shas } = await setup('unpacking', ['app']);
  const [sha] = shas as [string];
  let open!: () => void;
  client.gate = new Promise((resolve) => (open = resolve));
  const starting = store.appDir(sha);
  clock.ms += 10 * 60_000;
  // The start is mid-download: its temp files are not the sweep's to take.
  assert.deepEqual((await store.sweep(() => new Set())).removed, []);
  open();
  const appDir = await starting;
  assert.match(await readFile(join(appDir, 'server.js'), 'utf8'), /unpacking-app/);
  // Its instance runs now: it stays, however long ago it was unpacked.
  clock.ms += 10 * 60_000;
  assert.deepEqual((await store.sweep(() => new Set([sha]))).removed, []);
  assert.deepEqual(await onDisk(), [sha]);
});

test('a start that asks for a release the sweep is removing waits and unpacks it again', async () => {
  const { store, client, clock, onDisk, shas } = await setup('racing', ['app']);
  const [sha] = shas as [string];
  await store.appDir(sha);
  clock.ms += 60_001;
  let started: Promise<string> | null = null;
  let looks = 0;
  // The start arrives right after the sweep's last look (the second: the first sorts releases
  // into used and unused) found the release unused, and before it is gone.
  const r = await store.sweep(() => {
    if (++looks === 2) queueMicrotask(() => (started = store.appDir(sha)));
    return new Set();
  });
  assert.ok(started !== null);
  const appDir = await (started as Promise<string>);
  assert.deepEqual(r.removed, [sha], 'the old copy went');
  assert.match(await readFile(join(appDir, 'server.js'), 'utf8'), /racing-app/, 'the start got a whole tree');
  assert.equal(client.downloads.length, 2, 'unpacked again after the removal');
  assert.deepEqual(await onDisk(), [sha]);
});

test('a start that asks before the sweep decides keeps its release', async () => {
  const { store, client, clock, onDisk, shas } = await setup('first', ['app']);
  const [sha] = shas as [string];
  await store.appDir(sha);
  clock.ms += 60_001;
  const sweeping = store.sweep(() => new Set());
  const appDir = await store.appDir(sha);
  assert.deepEqual((await sweeping).removed, []);
  assert.match(await readFile(join(appDir, 'server.js'), 'utf8'), /first-app/);
  assert.equal(client.downloads.length, 1);
  assert.deepEqual(await onDisk(), [sha]);
});
