import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { dockerSkipReason, useBusyboxEngine } from '../../test/support/docker-engine.js';
import { buildRelease } from '../build/build-release.js';
import { createSnapshot } from '../build/snapshot.js';
import { isSlipwayError } from '../core/errors.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import { hasImage } from '../runtime/docker/image-archive.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { ImageStore } from './image-store.js';
import { createReleaseResolver } from './release-resolver.js';
import { ReleaseStore } from './release-store.js';

const skip = dockerSkipReason() ?? false;
const engine = useBusyboxEngine(skip);

let work: string;
before(async () => {
  work = await makeTempDir('image-store-test-');
});
after(async () => {
  await removeDir(work);
});

/** The release the tests share, built on first use: its blob path, sha256 and image id. */
let built: Promise<{ path: string; sha256: string; image: string }> | undefined;
function release(): Promise<{ path: string; sha256: string; image: string }> {
  built ??= (async () => {
    const sourceDir = join(work, 'source');
    await mkdir(sourceDir);
    await writeFile(join(sourceDir, 'Dockerfile'), 'FROM slipway-test/busybox:1\nCOPY hello.txt /srv/hello.txt\nCMD ["cat", "/srv/hello.txt"]\n');
    await writeFile(join(sourceDir, 'hello.txt'), 'hello\n');
    const snapshotPath = join(work, 'snapshot.tar');
    await createSnapshot({ sourceDir, outPath: snapshotPath });
    await mkdir(join(work, 'build'));
    const r = await buildRelease({
      snapshotPath, workDir: join(work, 'build'), kind: 'auto', timeoutMs: 60_000, onLog: () => undefined, docker: engine().engine.api,
    });
    assert.ok(r.kind === 'dynamic' && r.manifest.image !== undefined);
    return { path: r.releasePath, sha256: r.sha256, image: r.manifest.image };
  })();
  return built;
}

/** A control plane whose `download` serves blobs from files, counting the downloads. */
function blobClient(blobs: Record<string, string>): ControlPlaneClient & { downloads: string[] } {
  const downloads: string[] = [];
  const unused = (): never => {
    throw new Error('not used by the image store');
  };
  return {
    downloads,
    assignments: unused, report: unused, shipLogs: unused,
    async download(sha256) {
      downloads.push(sha256);
      const path = blobs[sha256];
      if (path === undefined) throw new Error(`release ${sha256}: the server answered 404`);
      return Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>;
    },
  };
}

/** The engine's API, counting the image loads made through it. */
function countingLoads(api: EngineApi): EngineApi & { loads: number } {
  const counted = {
    loads: 0,
    json: api.json.bind(api),
    stream: async (request: Parameters<EngineApi['stream']>[0]) => {
      if (request.path === '/images/load') counted.loads++;
      return api.stream(request);
    },
    close: async () => undefined,
  };
  return counted;
}

async function removeImage(api: EngineApi, image: string): Promise<void> {
  await api.json({ method: 'DELETE', path: `/images/${image}`, query: { force: true } });
  assert.equal(await hasImage(api, image), false, 'control: the engine no longer has the image');
}

test('an image the engine lost is loaded back from the release blob with the same id, once for concurrent starts', { skip }, async () => {
  const built = await release();
  const api = countingLoads(engine().engine.api);
  await removeImage(api, built.image);
  const client = blobClient({ [built.sha256]: built.path });
  const dir = join(work, 'images-1');
  const store = new ImageStore(dir, client, api);
  const [a, b] = await Promise.all([store.ensureImage(built.sha256, built.image), store.ensureImage(built.sha256, built.image)]);
  assert.deepEqual(a, { kind: 'image', image: built.image });
  assert.deepEqual(b, a);
  assert.equal(await hasImage(api, built.image), true, 'the image is back under the same id');
  assert.deepEqual(client.downloads, [built.sha256], 'one download');
  assert.equal(api.loads, 1, 'one load');
  assert.deepEqual(await readdir(dir), [], 'no temporary file is left');
  // Once there, it is used as it is: no download, no load.
  await store.ensureImage(built.sha256, built.image);
  assert.equal(client.downloads.length, 1);
  assert.equal(api.loads, 1);
});

test('a release that does not hold the image it is said to hold is refused before anything is loaded', { skip }, async () => {
  const built = await release();
  const api = countingLoads(engine().engine.api);
  const client = blobClient({ [built.sha256]: built.path, ['f'.repeat(64)]: built.path });
  const store = new ImageStore(join(work, 'images-2'), client, api);
  const other = `sha256:${'0'.repeat(64)}`;
  await assert.rejects(store.ensureImage(built.sha256, other), (err) => isSlipwayError(err, 'invalid_archive') && err.message.includes(`not ${other}`));
  // A blob whose bytes do not hash to its name is not trusted either.
  await assert.rejects(store.ensureImage('f'.repeat(64), other), (err) => isSlipwayError(err, 'invalid_archive') && /arrived with sha256/.test(err.message));
  assert.equal(api.loads, 0);
  assert.deepEqual(await readdir(join(work, 'images-2')), [], 'no temporary file is left');
});

test('an agent without an engine fails an image assignment plainly; a tree assignment is not affected', async () => {
  const resolve = createReleaseResolver(new ReleaseStore(join(work, 'releases'), blobClient({})), null);
  await assert.rejects(resolve({ artifact_sha256: 'a'.repeat(64), image: `sha256:${'1'.repeat(64)}` }), (err) =>
    isSlipwayError(err, 'unavailable') && err.message.includes('SLIPWAY_RUNTIME_DRIVER=docker'));
  // A tree release still goes to the release store (here: a server that does not have it).
  await assert.rejects(resolve({ artifact_sha256: 'a'.repeat(64), image: null }), /the server answered 404/);
});
