import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { list } from 'tar';
import { WebSocket } from 'undici';
import { isSlipwayError, type ErrorCode, type SlipwayError } from '../core/errors.js';
import { runCommand } from '../util/child-process.js';
import { signalGroup, spawnInGroup } from '../util/process-group.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { waitFor } from '../util/wait-for.js';
import { buildDynamicRelease, extractDynamicRelease, type BuildDynamicOptions } from './dynamic-build.js';
import { createSnapshot } from './snapshot.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/apps');

let work: string;
let counter = 0;
const cleanups: Array<() => void> = [];
before(async () => {
  work = await makeTempDir('dynamic-build-test-');
});
after(async () => {
  for (const cleanup of cleanups) cleanup();
  await removeDir(work);
});

async function snapshotOfDir(sourceDir: string): Promise<string> {
  const outPath = join(work, `snapshot-${counter++}.tar`);
  await createSnapshot({ sourceDir, outPath });
  return outPath;
}

async function snapshotOf(files: Record<string, string>): Promise<string> {
  const sourceDir = join(work, `source-${counter++}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(sourceDir, path)), { recursive: true });
    await writeFile(join(sourceDir, path), content);
  }
  return snapshotOfDir(sourceDir);
}

async function build(snapshotPath: string, options: Partial<BuildDynamicOptions> = {}) {
  const log: string[] = [];
  const workDir = join(work, `build-${counter++}`);
  await mkdir(workDir);
  const result = await buildDynamicRelease({ snapshotPath, workDir, timeoutMs: 120_000, onLog: (c) => log.push(c), ...options });
  return { result, log: log.join('') };
}

async function expectError(snapshotPath: string, options: Partial<BuildDynamicOptions>, code: ErrorCode): Promise<SlipwayError> {
  const err = await build(snapshotPath, options).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  return err;
}

async function extracted(releasePath: string) {
  const dir = join(work, `app-${counter++}`);
  const manifest = await extractDynamicRelease(releasePath, dir);
  return { dir, manifest };
}

async function entryNames(releasePath: string): Promise<string[]> {
  const names: string[] = [];
  await list({ file: releasePath, onReadEntry: (e) => names.push(e.path) });
  return names;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the release's run command the way an agent would and waits for it to answer. */
async function runRelease(dir: string, runCommand: string): Promise<{ port: number; get: (path: string) => Promise<{ status: number; text: string }>; output: () => string }> {
  const port = await freePort();
  const child = spawnInGroup(['/bin/sh', '-c', runCommand], {
    cwd: dir,
    // No registry, no proxy, no HOME worth having: the release must carry what it needs.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), HOME: dir, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const pid = child.pid as number;
  cleanups.push(() => signalGroup(pid, 'SIGKILL'));
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, text: await res.text() };
  };
  await waitFor(() => get('/health'), { timeoutMs: 20_000, description: `${runCommand} answering on ${port}` }).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; output: ${output}`);
  });
  return { port, get, output: () => output };
}

test('a Node app with a registry dependency: npm ci, node_modules in the release, runs from it alone', async () => {
  const snapshot = await snapshotOfDir(join(FIXTURES, 'node-dep'));
  const { result, log } = await build(snapshot, { kind: 'auto' });
  const run = 'PATH="$PWD/node_modules/.bin:$PATH" npm_package_name=node-dep npm_package_version=1.0.0 exec node server.js';
  assert.deepEqual(result.manifest, { format: 1, kind: 'dynamic', run_command: run, port: 3000, detected: 'node (npm)' });
  assert.ok(log.includes(`[slipway] detected node (npm): npm ci --no-audit --no-fund; run \`${run}\` on port 3000`), log);
  assert.match(log, /\[slipway\] npm ci --no-audit --no-fund finished in \d+ ms/);
  const names = await entryNames(result.releasePath);
  assert.equal(names[0], 'release.json');
  assert.ok(names.includes('app/node_modules/ms/package.json'), names.join('\n'));
  assert.deepEqual(names.slice(1), [...names.slice(1)].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));

  const { dir, manifest } = await extracted(result.releasePath);
  assert.deepEqual(manifest, result.manifest);
  const app = await runRelease(dir, manifest.run_command);
  assert.deepEqual(await app.get('/'), { status: 200, text: 'node-dep 2m' });
  await waitFor(() => app.output().includes('node-dep listening on'), { description: 'the start line' });
});

test('the ws-echo fixture builds and echoes over a websocket from its release', async () => {
  const { result } = await build(await snapshotOfDir(join(FIXTURES, 'ws-echo')));
  const { dir, manifest } = await extracted(result.releasePath);
  const app = await runRelease(dir, manifest.run_command);
  const ws = new WebSocket(`ws://127.0.0.1:${app.port}/`);
  const echoed = await new Promise<string>((resolve, reject) => {
    ws.onopen = () => ws.send('x'.repeat(70_000));
    ws.onmessage = (event) => resolve(String(event.data));
    ws.onerror = () => reject(new Error('websocket error'));
  });
  ws.close();
  assert.equal(echoed.length, 70_000);
});

test('the same source built twice gives the same release sha256', async () => {
  const snapshot = await snapshotOfDir(join(FIXTURES, 'node-dep'));
  const one = await build(snapshot);
  const two = await build(snapshot);
  assert.equal(one.result.sha256, two.result.sha256);
  assert.equal(one.result.size, two.result.size);
});

test('a stdlib Python server: nothing installed, no virtualenv, runs with python3', async () => {
  const snapshot = await snapshotOfDir(join(FIXTURES, 'python-http'));
  const { result, log } = await build(snapshot);
  assert.deepEqual(result.manifest, { format: 1, kind: 'dynamic', run_command: 'python3 app.py', port: 8000, detected: 'python' });
  assert.match(log, /nothing to install or build/);
  const { dir, manifest } = await extracted(result.releasePath);
  await assert.rejects(stat(join(dir, '.venv')));
  const app = await runRelease(dir, manifest.run_command);
  const res = await app.get('/health');
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.text).app, 'python-http');
});

/** Writes a minimal pure-Python wheel by hand, so pip has something to install offline. */
const MAKE_WHEEL = `
import base64, hashlib, sys, zipfile
files = {
    'tinydep/__init__.py': b'VERSION = "0.1"\\ndef hello():\\n    print("hello from tinydep", VERSION)\\n',
    'tinydep-0.1.dist-info/entry_points.txt': b'[console_scripts]\\ntinydep-hello = tinydep:hello\\n',
    'tinydep-0.1.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: tinydep\\nVersion: 0.1\\n',
    'tinydep-0.1.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
record = [n + ',sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode() + ',' + str(len(d)) for n, d in files.items()]
files['tinydep-0.1.dist-info/RECORD'] = ('\\n'.join(record + ['tinydep-0.1.dist-info/RECORD,,']) + '\\n').encode()
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for n, d in files.items():
        z.writestr(n, d)
`;

test('a Python app with a package: a .venv inside the app, which runs it after being moved', async () => {
  const sourceDir = join(work, `source-${counter++}`);
  await mkdir(sourceDir);
  await runCommand(['python3', '-c', MAKE_WHEEL, join(sourceDir, 'tinydep-0.1-py3-none-any.whl')]);
  await writeFile(join(sourceDir, 'requirements.txt'), './tinydep-0.1-py3-none-any.whl\n');
  const server = await readFile(join(FIXTURES, 'python-http/app.py'), 'utf8');
  await writeFile(join(sourceDir, 'main.py'), server.replace('import json', 'import json\nimport tinydep').replace('"python-http"', '"tinydep " + tinydep.VERSION'));
  const workDir = join(work, `build-${counter++}`);
  await mkdir(workDir);
  const { result, log } = await build(await snapshotOfDir(sourceDir), { workDir });
  assert.deepEqual(result.manifest, { format: 1, kind: 'dynamic', run_command: '.venv/bin/python main.py', port: 8000, detected: 'python' });
  assert.match(log, /made \d+ virtualenv script\(s\) find their python/, 'pip and tinydep-hello');
  const { dir, manifest } = await extracted(result.releasePath);
  // The build tree is gone, as on a real host: nothing may still point into it.
  await removeDir(workDir);
  const app = await runRelease(dir, manifest.run_command);
  assert.equal(JSON.parse((await app.get('/')).text).app, 'tinydep 0.1');
  const script = await readFile(join(dir, '.venv/bin/tinydep-hello'), 'utf8');
  assert.ok(!script.includes(workDir), 'no path of the build tree in the console script');
  const hello = await runCommand([join(dir, '.venv/bin/tinydep-hello')], { timeoutMs: 20_000 });
  assert.equal(hello.stdout.trim(), 'hello from tinydep 0.1', 'a console script runs from where the release is');
});

test('explicit build and run commands: the built tree, exec bits and inside links kept, outside links dropped', async () => {
  const snapshot = await snapshotOf({ 'src/server.js': await readFile(join(FIXTURES, 'node-http/server.js'), 'utf8') });
  const buildCommand = [
    'mkdir -p out bin && cp src/server.js out/server.js',
    'printf "#!/bin/sh\\nexec node out/server.js\\n" > bin/start && chmod +x bin/start',
    'ln -s ../out/server.js bin/server.js', 'ln -s /etc/passwd leak', 'ln -s .. up', `ln -s "$PWD/out" absolute-inside`,
    'mkdir empty-dir',
  ].join(' && ');
  const { result, log } = await build(snapshot, { buildCommand, runCommand: './bin/start', port: 4567 });
  assert.deepEqual(result.manifest, { format: 1, kind: 'dynamic', run_command: './bin/start', port: 4567, detected: 'explicit' });
  assert.match(log, /skipped leak: symlink leads outside the app/);
  assert.match(log, /skipped up: symlink target outside the archive/);
  const { dir, manifest } = await extracted(result.releasePath);
  assert.equal((await stat(join(dir, 'bin/start'))).mode & 0o777, 0o755);
  assert.equal((await stat(join(dir, 'out/server.js'))).mode & 0o777, 0o644);
  assert.equal(await readlink(join(dir, 'bin/server.js')), '../out/server.js');
  assert.equal(await readlink(join(dir, 'absolute-inside')), 'out', 'an absolute link into the app is made relative');
  assert.ok((await lstat(join(dir, 'empty-dir'))).isDirectory());
  await assert.rejects(lstat(join(dir, 'leak')));
  await assert.rejects(lstat(join(dir, 'up')));
  const app = await runRelease(dir, manifest.run_command);
  assert.equal(JSON.parse((await app.get('/')).text).app, 'node-http');
});

test('a failing build is build_failed with the log tail; a failing install names its step', async () => {
  const snapshot = await snapshotOf({ 'server.js': '' });
  const err = await expectError(snapshot, { buildCommand: 'echo broken >&2; exit 3', runCommand: 'node server.js' }, 'build_failed');
  assert.equal(err.details.exitCode, 3);
  assert.match(String(err.details.logTail), /broken/);
  const badLock = await snapshotOf({ 'package.json': '{"name":"x","dependencies":{"ms":"2.1.3"},"scripts":{"start":"node s.js"}}', 'package-lock.json': '{"lockfileVersion":3,"packages":{"":{"name":"x"}}}' });
  const install = await expectError(badLock, {}, 'build_failed');
  assert.deepEqual((install.details.argv as string[]).slice(0, 2), ['npm', 'ci']);
  assert.match(install.message, /`npm ci --no-audit --no-fund` exited with code/);
});

test('the steps share one time limit', async () => {
  const snapshot = await snapshotOf({ 'server.js': '' });
  await expectError(snapshot, { buildCommand: 'sleep 5', runCommand: 'node server.js', timeoutMs: 300 }, 'build_timeout');
});

test('an app larger than the limit is build_output_too_large', async () => {
  const snapshot = await snapshotOf({ 'server.js': 'x'.repeat(600) });
  const err = await expectError(snapshot, { runCommand: 'node server.js', maxOutputBytes: 500 }, 'build_output_too_large');
  assert.equal(err.details.limit, 500);
});

test('a source that is a static site is run_command_missing, and a Dockerfile needs a container driver', async () => {
  await expectError(await snapshotOf({ 'index.html': 'hi' }), { kind: 'auto' }, 'run_command_missing');
  await expectError(await snapshotOf({ Dockerfile: 'FROM node' }), {}, 'dockerfile_requires_container_driver');
});
