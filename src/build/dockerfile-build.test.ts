import { test } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { isSlipwayError } from '../core/errors.js';
import { buildDockerfileImage } from './dockerfile-build.js';
import { removeDir } from '../util/temp-dir.js';
import { dockerSkipReason, startTestEngine, useBusyboxEngine } from '../../test/support/docker-engine.js';
import { hasImage, loadImage, saveImage } from '../runtime/docker/image-archive.js';

const skip = dockerSkipReason() ?? false;
const engine = useBusyboxEngine(skip);

/** A build context tar holding `files`. */
async function context(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp('/tmp/swd-ctx-');
  try {
    for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
    const chunks: Buffer[] = [];
    for await (const chunk of createTar({ cwd: dir, portable: true }, Object.keys(files))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    await removeDir(dir);
  }
}

test('a Dockerfile builds with BuildKit from a local base image, its log readable, its id a digest', { skip }, async (t) => {
  const api = engine().engine.api;
  const lines: string[] = [];
  const started = Date.now();
  const built = await buildDockerfileImage(api, {
    context: await context({ Dockerfile: 'FROM slipway-test/busybox:1\nCOPY hello.txt /srv/hello.txt\nRUN echo built-in-step > /srv/step.txt && echo step-output\nUSER app\nCMD ["cat", "/srv/hello.txt"]\n', 'hello.txt': 'hello\n' }),
    dockerfile: 'FROM slipway-test/busybox:1\n',
    tag: 'slipway-test/app:1',
    onLog: (line) => lines.push(line),
  });
  t.diagnostic(`image build took ${Date.now() - started} ms`);
  assert.match(built.imageId, /^sha256:[0-9a-f]{64}$/);
  const log = lines.join('\n');
  assert.match(log, /RUN echo built-in-step/);
  assert.match(log, /step-output/, 'the RUN step output is in the log');
  assert.doesNotMatch(log, /[A-Za-z0-9+/]{60,}/, 'no raw protobuf/base64 in the log');
  assert.equal(await hasImage(api, 'slipway-test/app:1'), true);
});

test('a base image the engine lacks fails with base_image_missing naming it, before anything runs', { skip }, async () => {
  const api = engine().engine.api;
  const dockerfile = 'FROM slipway-test/busybox:1 AS tools\nFROM node:20-slim\nCOPY --from=tools /bin/busybox /bin/busybox\n';
  await assert.rejects(
    buildDockerfileImage(api, { context: await context({ Dockerfile: dockerfile }), dockerfile, tag: 'slipway-test/nobase:1' }),
    (err) => isSlipwayError(err, 'base_image_missing') && err.details.image === 'node:20-slim' && /not on this host's Docker engine/.test(err.message),
  );
  // A base named only at build time is caught by the engine, and named from its registry error.
  const hidden = 'ARG BASE\nFROM ${BASE}\n';
  await assert.rejects(
    buildDockerfileImage(api, { context: await context({ Dockerfile: hidden }), dockerfile: hidden, tag: 'slipway-test/nobase:2', buildArgs: { BASE: 'node:20-slim' } }),
    (err) => isSlipwayError(err, 'base_image_missing') && err.details.image === 'node:20-slim',
  );
});

test('a failing RUN step fails with build_failed carrying the step output', { skip }, async () => {
  const api = engine().engine.api;
  const dockerfile = 'FROM slipway-test/busybox:1\nRUN echo about-to-fail && exit 3\n';
  await assert.rejects(
    buildDockerfileImage(api, { context: await context({ Dockerfile: dockerfile }), dockerfile, tag: 'slipway-test/fails:1' }),
    (err) => isSlipwayError(err, 'build_failed') && /about-to-fail/.test(String(err.details.logTail)),
  );
});

test('a saved image loads into a fresh engine with the same id and runs there', { skip }, async (t) => {
  const api = engine().engine.api;
  const dockerfile = 'FROM slipway-test/busybox:1\nRUN echo from-the-build > /built.txt\nCMD ["cat", "/built.txt"]\n';
  const built = await buildDockerfileImage(api, { context: await context({ Dockerfile: dockerfile }), dockerfile, tag: 'slipway-test/saved:1' });
  const dir = await mkdtemp('/tmp/swd-save-');
  const other = await startTestEngine();
  try {
    let started = Date.now();
    const saved = await saveImage(api, built.imageId, { path: join(dir, 'image.tar') });
    t.diagnostic(`docker save: ${Date.now() - started} ms, ${saved.bytes} bytes`);
    assert.match(saved.sha256, /^[0-9a-f]{64}$/);
    assert.equal(await hasImage(other.engine.api, built.imageId), false, 'control: the fresh engine lacks it');
    started = Date.now();
    const loaded = await loadImage(other.engine.api, saved.path);
    t.diagnostic(`docker load: ${Date.now() - started} ms`);
    assert.ok(loaded.includes(built.imageId), `loaded ${loaded.join(', ')}`);
    const run = await other.engine.api.json<{ Id: string }>({
      method: 'POST',
      path: '/containers/create',
      json: { Image: built.imageId, HostConfig: { NetworkMode: 'none' }, Labels: { 'dev.slipway.owned': 'true' } },
    });
    await other.engine.api.json({ method: 'POST', path: `/containers/${run.Id}/start` });
    const waited = await other.engine.api.json<{ StatusCode: number }>({ method: 'POST', path: `/containers/${run.Id}/wait`, timeoutMs: 30_000 });
    assert.equal(waited.StatusCode, 0);
    const logs = await text(await other.engine.api.stream({ method: 'GET', path: `/containers/${run.Id}/logs`, query: { stdout: true } }));
    assert.match(logs, /from-the-build/);
  } finally {
    await other.cleanup();
    await removeDir(dir);
  }
});
