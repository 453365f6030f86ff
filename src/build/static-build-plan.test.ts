import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSlipwayError } from '../core/errors.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { pythonShimTarget } from '../util/python-shim.js';
import type { StaticAppPlan } from './app-plan.js';
import { BUILD_PATH } from './build-path.js';
import { buildPlannedStaticRelease, type BuildStaticOptions } from './static-build.js';

let work: string;
let counter = 0;
before(async () => {
  work = await makeTempDir('static-build-plan-test-');
});
after(async () => {
  await removeDir(work);
});

/** A work dir whose `src/` already holds `files`, as `buildRelease` leaves it. */
async function unpacked(files: Record<string, string>): Promise<string> {
  const workDir = join(work, `build-${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(workDir, 'src', path)), { recursive: true });
    await writeFile(join(workDir, 'src', path), content);
  }
  return workDir;
}

function plan(extra: Partial<StaticAppPlan>): StaticAppPlan {
  return { kind: 'static', detected: 'static', reasons: [], install: [], ...extra };
}

async function build(workDir: string, p: StaticAppPlan, options: Partial<BuildStaticOptions> = {}) {
  const log: string[] = [];
  const result = await buildPlannedStaticRelease(p, {
    snapshotPath: '/nonexistent', workDir, timeoutMs: 20_000, onLog: (c) => log.push(c), ...options,
  });
  return { result, log: log.join('') };
}

async function buildError(workDir: string, p: StaticAppPlan) {
  const log: string[] = [];
  const err = await buildPlannedStaticRelease(p, { snapshotPath: '/nonexistent', workDir, timeoutMs: 20_000, onLog: (c) => log.push(c) })
    .catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, 'build_failed'), String(err));
  return { err, log: log.join('') };
}

test('a plan runs its install steps, then its build command, then packages its output folder', async () => {
  const workDir = await unpacked({ 'page.src': 'hello' });
  const { result, log } = await build(workDir, plan({
    detected: 'vite',
    reasons: ['package.json has vite in devDependencies'],
    install: [['sh', '-c', 'mkdir -p tools && echo installed > tools/marker']],
    buildCommand: 'mkdir -p site && cat tools/marker page.src > site/index.html',
    outputPath: 'site',
  }));
  assert.deepEqual(result.manifest.files.map((f) => [f.path, f.size]), [['index.html', 'installed\nhello'.length]]);
  assert.match(log, /^\[slipway\] build steps: sh -c mkdir -p tools .* → mkdir -p site/m);
  assert.ok(log.indexOf('running sh -c') < log.indexOf('running build command'), log);
});

test('every step installs devDependencies and prints no colours, while NODE_ENV stays production', async () => {
  const dump = (name: string) => `mkdir -p out && env > out/${name}.txt`;
  const workDir = await unpacked({ 'index.html': 'x' });
  const { result } = await build(workDir, plan({ install: [['sh', '-c', dump('install')]], buildCommand: dump('build'), outputPath: 'out' }), {
    staticInclude: ['*.txt'],
  });
  assert.equal(result.manifest.files.length, 2);
  for (const step of ['install', 'build']) {
    const env = await readFile(join(workDir, 'src', 'out', `${step}.txt`), 'utf8');
    for (const line of ['NODE_ENV=production', 'npm_config_include=dev', 'YARN_PRODUCTION=false', 'NO_COLOR=1', 'FORCE_COLOR=0']) {
      assert.match(env, new RegExp(`^${line}$`, 'm'), `${step}: ${line}`);
    }
    assert.match(env, new RegExp(`^HOME=${join(workDir, 'home')}$`, 'm'), `${step}: a private home outside the tree`);
    assert.doesNotMatch(env, /^npm_config_production=/m, 'npm warns about it, so only pnpm projects get it');
  }
});

test('a pnpm project also gets pnpm\'s own setting; the deployment\'s build env can still override', async () => {
  const workDir = await unpacked({ 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n", 'index.html': 'x' });
  await build(workDir, plan({ buildCommand: 'mkdir -p out && env > out/env.txt', outputPath: 'out' }), {
    staticInclude: ['*.txt'], env: { npm_config_include: 'prod' },
  });
  const env = await readFile(join(workDir, 'src', 'out', 'env.txt'), 'utf8');
  assert.match(env, /^npm_config_production=false$/m);
  assert.match(env, /^npm_config_include=prod$/m);
});

test('the build PATH is the system folders and node\'s, never Slipway\'s node_modules/.bin', async () => {
  const workDir = await unpacked({ 'index.html': 'x' });
  await build(workDir, plan({ buildCommand: 'mkdir -p out && echo "$PATH" > out/path.txt', outputPath: 'out' }), { staticInclude: ['*.txt'] });
  const path = (await readFile(join(workDir, 'src', 'out', 'path.txt'), 'utf8')).trim();
  // On a host with python3 but no python, the build's own link folder comes last (util/python-shim.ts).
  const shim = pythonShimTarget() ? [join(workDir, 'cache', 'python-shim')] : [];
  assert.equal(path, [BUILD_PATH, ...shim].join(':'));
  assert.ok(process.env.PATH?.includes('node_modules/.bin'), 'control: the test runner itself has it on PATH');
  for (const dir of path.split(':')) {
    assert.ok(!dir.includes('node_modules'), `${dir} in the build PATH`);
  }
});

test('files never served are left out with a log line naming them, unless static_include keeps them', async () => {
  const files = { 'index.html': 'x', 'package.json': '{}', 'package-lock.json': '{}', '.env': 'A=1', 'app.js.map': '{}' };
  const { result, log } = await build(await unpacked(files), plan({}));
  assert.deepEqual(result.manifest.files.map((f) => f.path), ['index.html']);
  assert.match(log, /^\[slipway\] left out 4 files that are never served: \.env \(dotfile\), app\.js\.map \(source map\), package-lock\.json .*; publish them anyway with static_include$/m);
  const kept = await build(await unpacked(files), plan({}), { staticInclude: ['*.map'] });
  assert.deepEqual(kept.result.manifest.files.map((f) => f.path), ['app.js.map', 'index.html']);
  assert.match(kept.log, /left out 3 files/);
});

test('a build that calls a tool that is not installed fails with a hint in the log and the error', async () => {
  const workDir = await unpacked({ 'package.json': '{}' });
  const { err, log } = await buildError(workDir, plan({ buildCommand: 'vite build' }));
  assert.match(log, /^\[slipway\] hint: `vite` was not found: .*devDependencies/m);
  assert.match((err as Error).message, /exited with code 127\. `vite` was not found/);
});

test('colour codes a build prints are not in the log', async () => {
  const workDir = await unpacked({ 'index.html': 'x' });
  const { log } = await build(workDir, plan({ buildCommand: "printf '\\033[1m\\033[32mbuilt\\033[39m\\033[22m in 1s\\n'", outputPath: '' }));
  assert.match(log, /^built in 1s$/m);
  assert.doesNotMatch(log, /\x1b/);
});

test('a work dir inside a Node.js project is flagged: npm scripts would find that project\'s tools', async () => {
  const project = join(work, `project-${counter++}`);
  await mkdir(join(project, 'node_modules', '.bin'), { recursive: true });
  await writeFile(join(project, 'node_modules', '.bin', 'borrowed-tool'), '#!/bin/sh\necho borrowed\n', { mode: 0o755 });
  const workDir = join(project, 'home', 'work', 'ver_1');
  await mkdir(join(workDir, 'src'), { recursive: true });
  await writeFile(join(workDir, 'src', 'package.json'), JSON.stringify({ scripts: { build: 'mkdir -p out && borrowed-tool > out/index.html' } }));
  const { result, log } = await build(workDir, plan({ buildCommand: 'npm run build', outputPath: 'out' }));
  assert.equal(result.manifest.files.length, 1, 'control: npm really lends the parent project\'s tool');
  assert.match(log, new RegExp(`^\\[slipway\\] warning: npm scripts of this build also find the tools in ${join(project, 'node_modules', '.bin')},`, 'm'));
  const clean = await build(await unpacked({ 'index.html': 'x' }), plan({ buildCommand: 'true', outputPath: '' }));
  assert.doesNotMatch(clean.log, /warning: npm scripts/, 'a work dir outside any project gets no warning');
});
