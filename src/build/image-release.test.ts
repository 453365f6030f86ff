import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { list, Parser } from 'tar';
import { rawTar } from '../../test/support/archive/raw-tar-fixture.js';
import { dockerSkipReason, useBusyboxEngine } from '../../test/support/docker-engine.js';
import { isSlipwayError } from '../core/errors.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import { OWNER_LABEL } from '../runtime/docker/engine.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { buildRelease, type BuildReleaseOptions } from './build-release.js';
import { extractDynamicRelease } from './dynamic-release-reader.js';
import { extractImageArchive } from './image-release-format.js';
import { createSnapshot } from './snapshot.js';

const skip = dockerSkipReason() ?? false;
const engine = useBusyboxEngine(skip);

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('image-release-test-');
});
after(async () => {
  await removeDir(work);
});

/** A snapshot of `files` and an empty work dir for building it. */
async function source(files: Record<string, string>): Promise<{ snapshotPath: string; workDir: string }> {
  const n = counter++;
  const sourceDir = join(work, `source-${n}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(sourceDir, path)), { recursive: true });
    await writeFile(join(sourceDir, path), content);
  }
  const snapshotPath = join(work, `snapshot-${n}.tar`);
  await createSnapshot({ sourceDir, outPath: snapshotPath });
  const workDir = join(work, `work-${n}`);
  await mkdir(workDir);
  return { snapshotPath, workDir };
}

async function build(files: Record<string, string>, options: Partial<BuildReleaseOptions> = {}): Promise<{ release: Awaited<ReturnType<typeof buildRelease>>; log: string }> {
  const lines: string[] = [];
  const release = await buildRelease({
    ...(await source(files)), kind: 'auto', timeoutMs: 60_000, onLog: (chunk) => lines.push(chunk),
    docker: engine().engine.api, ...options,
  });
  return { release, log: lines.join('') };
}

/** Command lines of this host's processes (build steps run in the engine's containers, visible here). */
function commandLines(): string[] {
  return readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()];
    } catch {
      return [];
    }
  });
}

// The RUN step checks the context: the page is there, the file .dockerignore names is not.
const APP = {
  Dockerfile: 'FROM slipway-test/busybox:1\nCOPY www /www\nRUN test -e /www/index.html && test ! -e /www/secret.txt\nEXPOSE 53/udp 3000\nCMD ["httpd", "-f", "-p", "3000", "-h", "/www"]\n',
  '.dockerignore': 'www/secret.txt\n',
  'www/index.html': '<h1>from the image</h1>\n',
  'www/secret.txt': 'not for the image\n',
};

test('a Dockerfile builds into an image release: release.json naming the image, then the saved image', { skip }, async () => {
  const api = engine().engine.api;
  const { release, log } = await build(APP, { imageTag: 'slipway/dep_test:v1' });
  assert.equal(release.kind, 'dynamic');
  const manifest = release.manifest as DynamicReleaseManifest;
  assert.match(manifest.image ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.deepEqual(manifest, { format: 1, kind: 'dynamic', run_command: '', port: 3000, detected: 'dockerfile', image: manifest.image });

  // The tar: release.json first, then image.tar, nothing else; gzipped like every dynamic release.
  assert.equal(release.kind === 'dynamic' && (await readFile(release.releasePath)).subarray(0, 2).toString('hex'), '1f8b');
  const entries: string[] = [];
  await list({ file: release.kind === 'dynamic' ? release.releasePath : '', onReadEntry: (e) => entries.push(e.path) });
  assert.deepEqual(entries, ['release.json', 'image.tar']);
  const imagePath = join(work, 'read-back.tar');
  assert.deepEqual(await extractImageArchive(release.kind === 'dynamic' ? release.releasePath : '', imagePath), manifest);

  // The image is on the engine, tagged and labelled as Slipway's; the log shows the plan and the steps.
  const inspect = await api.json<{ Id: string; RepoTags: string[]; Config: { Labels: Record<string, string> | null } }>({ method: 'GET', path: `/images/${manifest.image}/json` });
  assert.equal(inspect.Id, manifest.image);
  assert.deepEqual(inspect.RepoTags, ['slipway/dep_test:v1']);
  assert.equal(inspect.Config.Labels?.[OWNER_LABEL], 'true');
  assert.match(log, /\[slipway\] detect: dockerfile \(dynamic\)/);
  assert.match(log, /\[slipway\] detect: port 3000: EXPOSE 53\/udp 3000/);
  assert.match(log, /COPY www \/www/);
  assert.match(log, new RegExp(`image ${manifest.image} built`));

  // An app-tree reader refuses it plainly instead of unpacking something odd.
  await assert.rejects(extractDynamicRelease(release.kind === 'dynamic' ? release.releasePath : '', join(work, 'not-a-tree')), (err) =>
    isSlipwayError(err, 'invalid_archive') && /holds an image/.test(err.message));
});

test('without an engine the build refuses a Dockerfile; a missing base image fails the build by name', { skip }, async () => {
  await assert.rejects(build(APP, { docker: undefined }), (err) => isSlipwayError(err, 'dockerfile_requires_container_driver'));
  await assert.rejects(build({ Dockerfile: 'FROM node:20-slim\nCMD ["node"]\n' }), (err) =>
    isSlipwayError(err, 'base_image_missing') && err.details.image === 'node:20-slim');
});

test('a build past its timeout is build_timeout; an aborted one is interrupted; both stop the running step', { skip }, async () => {
  const slow = (seconds: number): Record<string, string> => ({ Dockerfile: `FROM slipway-test/busybox:1\nRUN sleep ${seconds}\n` });
  const running = (seconds: number): boolean => commandLines().some((line) => line === `sleep ${seconds}` || line.endsWith(`-c sleep ${seconds}`));

  // Both rejections are awaited below; assert.rejects takes them at once, so neither goes unhandled.
  const timedOut = assert.rejects(build(slow(3117), { timeoutMs: 5000 }), (err) => isSlipwayError(err, 'build_timeout'));
  await waitFor(() => running(3117), { timeoutMs: 5000, description: 'the step to run' });
  await timedOut;
  await waitFor(() => !running(3117), { timeoutMs: 15_000, description: 'the timed-out step to be stopped' });

  const abort = new AbortController();
  const aborted = assert.rejects(build(slow(3118), { signal: abort.signal }), (err) => isSlipwayError(err, 'interrupted'));
  await waitFor(() => running(3118), { timeoutMs: 30_000, description: 'the step to run' });
  abort.abort();
  await aborted;
  await waitFor(() => !running(3118), { timeoutMs: 15_000, description: 'the aborted step to be stopped' });
});

test('an image past maxOutputBytes is build_output_too_large, stopped while saving rather than after', { skip }, async () => {
  const limit = 20_000;
  await assert.rejects(build(APP, { maxOutputBytes: limit }), (err) =>
    // The busybox image saves to over a megabyte; the save stops within one chunk of the limit.
    isSlipwayError(err, 'build_output_too_large') && err.details.limit === limit && (err.details.bytes as number) <= limit + 256 * 1024);
});

/** The text of `path` in `image`, read through a created (never started) container. */
async function fileInImage(image: string, path: string): Promise<string> {
  const api = engine().engine.api;
  const { Id } = await api.json<{ Id: string }>({ method: 'POST', path: '/containers/create', json: { Image: image, Labels: { [OWNER_LABEL]: 'true' } } });
  try {
    const body = await api.stream({ method: 'GET', path: `/containers/${Id}/archive`, query: { path } });
    let text = '';
    const parser = new Parser({ onReadEntry: (e) => e.on('data', (chunk: Buffer) => { text += chunk.toString(); }) });
    await pipeline(body, parser);
    return text;
  } finally {
    await api.json({ method: 'DELETE', path: `/containers/${Id}`, query: { force: true } });
  }
}

// With user-namespace remapping, context files owned by uid 0 were host root's in the build and
// left out of the image's layer ("Host ID 0 cannot be mapped"): versions of an app differing in
// one file got the same layer, so the next version's image served the one before's page.
test('each version of a Dockerfile app gets its own files in its image, with or without a .dockerignore', { skip }, async () => {
  const { '.dockerignore': _, 'www/secret.txt': __, ...unignored } = APP;
  for (const app of [unignored, APP]) {
    for (const n of [1, 2, 3]) {
      const { release } = await build({ ...app, 'www/index.html': `page ${n}\n` });
      const image = (release.manifest as DynamicReleaseManifest).image ?? '';
      assert.equal(await fileInImage(image, '/www/index.html'), `page ${n}\n`, `version ${n}, ${Object.keys(app).join(' ')}`);
    }
  }
});

// On a remapped engine BuildKit would unpack it without its root-owned files (dockerfile-add.ts):
// refused before anything runs, saying what to do instead.
test('on a remapped engine, ADD of a local archive is refused before the build, naming the archive', { skip }, async () => {
  // Every byte below 0x80, so the string survives being written as UTF-8.
  const archive = rawTar([{ name: 'a.txt', body: 'from the archive' }]).toString('latin1');
  await assert.rejects(build({ Dockerfile: 'FROM slipway-test/busybox:1\nADD files.tar /x/\n', 'files.tar': archive }), (err) =>
    isSlipwayError(err, 'build_failed') && /ADDs the archive files\.tar/.test(err.message) && /RUN tar/.test(err.message));
  // A plain file ADDed is copied, not unpacked: nothing to refuse.
  const { release } = await build({ Dockerfile: 'FROM slipway-test/busybox:1\nADD page.html /www/\nCMD ["httpd", "-f", "-h", "/www"]\n', 'page.html': 'hi' });
  assert.equal(release.kind, 'dynamic');
});
