import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSlipwayError, type ErrorCode, type SlipwayError } from '../core/errors.js';
import { sha256File } from '../util/sha256.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { createSnapshot } from './snapshot.js';
import type { StaticAppPlan } from './app-plan.js';
import { buildPlannedStaticRelease, buildStaticRelease, type BuildStaticOptions } from './static-build.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('static-build-test-');
});
after(async () => {
  await removeDir(work);
});

async function snapshotOf(files: Record<string, string>, keepPath?: string): Promise<string> {
  const sourceDir = join(work, `source-${counter++}`);
  await mkdir(sourceDir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(sourceDir, path)), { recursive: true });
    await writeFile(join(sourceDir, path), content);
  }
  const outPath = join(work, `snapshot-${counter++}.tar`);
  await createSnapshot({ sourceDir, outPath, keepPath });
  return outPath;
}

async function build(snapshotPath: string, options: Partial<BuildStaticOptions> = {}) {
  const log: string[] = [];
  const workDir = join(work, `build-${counter++}`);
  await mkdir(workDir);
  const result = await buildStaticRelease({ snapshotPath, workDir, timeoutMs: 20_000, onLog: (c) => log.push(c), ...options });
  return { result, log: log.join(''), workDir };
}

async function expectError(snapshotPath: string, options: Partial<BuildStaticOptions>, code: ErrorCode): Promise<SlipwayError> {
  const err = await build(snapshotPath, options).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  return err;
}

test('end to end: a real build command, its output found in dist/, packaged', async () => {
  const snapshot = await snapshotOf({ 'package.json': '{}', 'src/page.txt': 'source only' });
  const { result, log, workDir } = await build(snapshot, {
    buildCommand: 'mkdir -p dist && echo hi > dist/index.html && echo built',
  });
  assert.equal(result.releasePath, join(workDir, 'release.tar'));
  assert.deepEqual(await sha256File(result.releasePath), { sha256: result.sha256, size: result.size });
  assert.deepEqual(
    result.manifest.files.map((f) => [f.path, f.content_type, f.size]),
    [['index.html', 'text/html; charset=utf-8', 3]],
  );
  assert.match(log, /running build command/);
  assert.match(log, /^built$/m);
});

test('the same snapshot and command give the same release sha256', async () => {
  const snapshot = await snapshotOf({ 'index.src': 'x' });
  const command = 'mkdir -p out && cp index.src out/index.html && touch -d 2001-01-01 out/index.html';
  const one = await build(snapshot, { buildCommand: command });
  const two = await build(snapshot, { buildCommand: command.replace('2001-01-01', '2011-11-11') });
  assert.equal(one.result.sha256, two.result.sha256);
});

test('without a build command the source root is the site', async () => {
  const snapshot = await snapshotOf({ 'index.html': '<h1>hi</h1>', 'css/site.css': 'body{}' });
  const { result } = await build(snapshot);
  assert.deepEqual(
    result.manifest.files.map((f) => f.path),
    ['css/site.css', 'index.html'],
  );
});

test('an explicit output_path publishes only that folder, even a prebuilt dist/', async () => {
  const snapshot = await snapshotOf({ 'README.md': 'not served', 'dist/index.html': 'prebuilt' }, 'dist');
  const { result } = await build(snapshot, { outputPath: './dist/' });
  assert.deepEqual(
    result.manifest.files.map((f) => f.path),
    ['index.html'],
  );
});

test('the default folders are tried in order', async () => {
  const snapshot = await snapshotOf({ 'public/index.html': 'public' });
  const { result } = await build(snapshot, { buildCommand: 'mkdir -p out && echo out > out/index.html' });
  assert.equal(result.manifest.files[0]?.size, 4); // "out\n", not public/
});

test('a build that produces no known output folder: output_path_missing naming what was tried', async () => {
  const snapshot = await snapshotOf({ 'index.src': 'x' });
  const err = await expectError(snapshot, { buildCommand: 'true' }, 'output_path_missing');
  assert.deepEqual(err.details.tried, ['dist', 'build', 'out', 'public']);
});

test('an output_path that does not exist is output_path_missing', async () => {
  const snapshot = await snapshotOf({ 'index.html': 'x' });
  const err = await expectError(snapshot, { outputPath: 'site' }, 'output_path_missing');
  assert.equal(err.details.output_path, 'site');
});

test('an output_path outside the tree is invalid_request, also through a symlink made by the build', async () => {
  const snapshot = await snapshotOf({ 'index.html': 'x' });
  await expectError(snapshot, { outputPath: '../../etc' }, 'invalid_request');
  await expectError(snapshot, { outputPath: 'site', buildCommand: 'ln -s /etc site' }, 'invalid_request');
});

test('a failing build is build_failed and nothing is packaged', async () => {
  const snapshot = await snapshotOf({ 'index.html': 'x' });
  const err = await expectError(snapshot, { buildCommand: 'echo broken >&2; exit 2' }, 'build_failed');
  assert.equal(err.details.exitCode, 2);
  assert.match(String(err.details.logTail), /broken/);
});

test('an empty output folder is empty_source', async () => {
  const snapshot = await snapshotOf({ 'index.src': 'x' });
  await expectError(snapshot, { buildCommand: 'mkdir dist' }, 'empty_source');
});

test("only a detected framework's own build gets immutable files, never its public/ copies or prebuilt files", async () => {
  /** A Vite-like build: dist/ emptied, public/ copied as it is, one bundle hashed. */
  const viteBuild = 'rm -rf dist && mkdir -p dist/assets && cp -R public/. dist/ && echo "console.log(1)" > dist/assets/index-Bx8a9FyQ.js';
  const immutableOf = async (plan: StaticAppPlan): Promise<string[]> => {
    const workDir = join(work, `planned-${counter++}`);
    const files = { 'index.html': 'x', 'public/assets/app-Bx1kQ2zY.js': 'x', 'dist/assets/prebuilt-Cx9k2LqA.js': 'x' };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(workDir, 'src', path)), { recursive: true });
      await writeFile(join(workDir, 'src', path), content);
    }
    const release = await buildPlannedStaticRelease(plan, { snapshotPath: '/nonexistent', workDir, timeoutMs: 20_000, onLog: () => {} });
    return release.manifest.files.filter((f) => f.immutable).map((f) => f.path);
  };
  const plan = (detected: string, more: Partial<StaticAppPlan>): StaticAppPlan => ({ kind: 'static', detected, reasons: [], install: [], ...more });
  assert.deepEqual(await immutableOf(plan('vite', { buildCommand: viteBuild, outputPath: 'dist' })), ['assets/index-Bx8a9FyQ.js']);
  assert.deepEqual(await immutableOf(plan('vite', { outputPath: 'dist' })), [], 'nothing was built: no hashes to trust');
  assert.deepEqual(await immutableOf(plan('static', { buildCommand: viteBuild, outputPath: 'dist' })), [], 'a build command Slipway does not know');
  assert.deepEqual(await immutableOf(plan('as-is', { outputPath: 'dist' })), []);
});
