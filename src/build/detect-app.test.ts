import { test, before, after } from 'node:test';
import { RELOCATE_VENV_SCRIPTS } from './detect-python.js';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSlipwayError, type ErrorCode, type SlipwayError } from '../core/errors.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { detectApp, type AppPlan, type DetectAppOptions } from './detect-app.js';
import { findExecutable } from './find-executable.js';

let work: string;
/** A PATH with fake node, npm, pnpm, yarn and python3: detection looks tools up, never runs them. */
let fakePath: string;
let counter = 0;

before(async () => {
  work = await makeTempDir('detect-app-test-');
  const bin = join(work, 'bin');
  await mkdir(bin);
  for (const tool of ['node', 'npm', 'pnpm', 'yarn', 'python3', 'mix']) {
    await writeFile(join(bin, tool), '#!/bin/sh\nexit 0\n');
    await chmod(join(bin, tool), 0o755);
  }
  await writeFile(join(bin, 'not-executable'), '');
  fakePath = bin;
});
after(async () => {
  await removeDir(work);
});

async function tree(files: Record<string, string>): Promise<string> {
  const dir = join(work, `src-${counter++}`);
  await mkdir(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

async function detect(files: Record<string, string>, options: Partial<DetectAppOptions> = {}): Promise<AppPlan> {
  return detectApp(await tree(files), { kind: 'auto', pathEnv: fakePath, ...options });
}

async function detectError(files: Record<string, string>, options: Partial<DetectAppOptions>, code: ErrorCode): Promise<SlipwayError> {
  const err = await detect(files, options).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  return err;
}

const pkg = (o: object): string => JSON.stringify(o);

/** The plan without its reasons, for comparing the decisions whole (reasons are tested on their own). */
function decisions(plan: AppPlan): Omit<AppPlan, 'reasons'> {
  const { reasons: _reasons, ...rest } = plan;
  return rest;
}

const plainStatic = { kind: 'static', detected: 'static', install: [] };

test('the lockfile picks the package manager and its install command', async () => {
  const start = pkg({ scripts: { start: 'node s.js' } });
  // A plain start script runs directly (start-script.ts), whatever the package manager.
  const DIRECT_START = 'PATH="$PWD/node_modules/.bin:$PATH" exec node s.js';
  const cases: Array<[Record<string, string>, string, string[]]> = [
    [{ 'package-lock.json': '{}' }, 'node (npm)', ['npm', 'ci', '--no-audit', '--no-fund']],
    [{ 'npm-shrinkwrap.json': '{}' }, 'node (npm)', ['npm', 'ci', '--no-audit', '--no-fund']],
    [{ 'pnpm-lock.yaml': '' }, 'node (pnpm)', ['pnpm', 'install', '--frozen-lockfile']],
    [{ 'yarn.lock': '' }, 'node (yarn)', ['yarn', 'install', '--frozen-lockfile']],
    [{}, 'node (npm)', ['npm', 'install', '--no-audit', '--no-fund']],
  ];
  for (const [files, detected, install] of cases) {
    const plan = await detect({ 'package.json': start, ...files });
    assert.deepEqual(decisions(plan), { kind: 'dynamic', detected, install: [install], runCommand: DIRECT_START, port: 3000 }, detected);
  }
});

test('a build script is the build step, and devDependencies are then installed', async () => {
  const plan = await detect({ 'package.json': pkg({ scripts: { build: 'tsc', start: 'node dist/s.js' } }), 'package-lock.json': '{}' });
  assert.equal(plan.kind, 'dynamic');
  assert.equal(plan.buildCommand, 'npm run build');
  assert.deepEqual(plan.install, [['npm', 'ci', '--no-audit', '--no-fund', '--include=dev']]);
  const pnpm = await detect({ 'package.json': pkg({ scripts: { build: 'vite build' }, main: 'x.js' }), 'pnpm-lock.yaml': '' });
  assert.equal(pnpm.kind === 'dynamic' && pnpm.buildCommand, 'pnpm run build');
});

test('the user build command replaces the detected one; the install stays', async () => {
  const plan = await detect({ 'package.json': pkg({ scripts: { build: 'tsc', start: 'x' } }) }, { buildCommand: 'make app' });
  assert.equal(plan.kind === 'dynamic' && plan.buildCommand, 'make app');
  assert.equal(plan.kind === 'dynamic' && plan.install.length, 1);
});

test('the run command: start script, else main when it exists, else server.js', async () => {
  const both = await detect({ 'package.json': pkg({ scripts: { start: 'node a.js' }, main: 'b.js' }), 'b.js': '' });
  assert.equal(both.kind === 'dynamic' && both.runCommand, 'PATH="$PWD/node_modules/.bin:$PATH" exec node a.js');
  const viaNpm = await detect({ 'package.json': pkg({ scripts: { start: 'node migrate.js && node a.js' } }) });
  assert.equal(viaNpm.kind === 'dynamic' && viaNpm.runCommand, 'npm start', 'a script that needs a shell keeps npm');
  const main = await detect({ 'package.json': pkg({ main: 'lib/app.js' }), 'lib/app.js': '' });
  assert.equal(main.kind === 'dynamic' && main.runCommand, 'node lib/app.js');
  const quoted = await detect({ 'package.json': pkg({ main: 'my app.js' }), 'my app.js': '' });
  assert.equal(quoted.kind === 'dynamic' && quoted.runCommand, "node 'my app.js'");
  const built = await detect({ 'package.json': pkg({ main: 'dist/index.js', scripts: { build: 'tsc' } }) });
  assert.equal(built.kind === 'dynamic' && built.runCommand, 'node dist/index.js', 'the build may create main');
  const server = await detect({ 'package.json': pkg({}), 'server.js': '' });
  assert.equal(server.kind === 'dynamic' && server.runCommand, 'node server.js');
});

test('a package.json that does not say how to start is a static site for auto, built by its build script', async () => {
  assert.deepEqual(decisions(await detect({ 'package.json': pkg({ scripts: { build: 'webpack' } }) })), {
    kind: 'static', detected: 'node (npm)', install: [['npm', 'install', '--no-audit', '--no-fund', '--include=dev']], buildCommand: 'npm run build',
  });
  assert.deepEqual(decisions(await detect({ 'package.json': pkg({ main: 'missing.js' }) })), plainStatic);
  assert.deepEqual(decisions(await detect({ 'package.json': pkg({ main: '../../etc/passwd' }) })), plainStatic);
  await detectError({ 'package.json': pkg({}) }, { kind: 'dynamic' }, 'run_command_missing');
});

test('plain files are static; kind static makes a site of an app, but takes no run command', async () => {
  assert.deepEqual(decisions(await detect({ 'index.html': 'hi' })), plainStatic);
  assert.deepEqual(decisions(await detect({ 'package.json': pkg({ scripts: { start: 'x' } }) }, { kind: 'static' })), plainStatic);
  assert.deepEqual(decisions(await detect({ Dockerfile: 'FROM scratch' }, { kind: 'static' })), plainStatic);
  await detectError({ 'index.html': 'hi' }, { kind: 'static', runCommand: 'x' }, 'invalid_request');
  await detectError({ 'index.html': 'hi' }, { kind: 'dynamic' }, 'run_command_missing');
});

test('an explicit run command makes a dynamic app, keeping the detected install steps', async () => {
  assert.deepEqual(decisions(await detect({ 'index.js': '' }, { runCommand: './serve', buildCommand: 'make', port: 9000 })), {
    kind: 'dynamic', detected: 'explicit', install: [], buildCommand: 'make', runCommand: './serve', port: 9000,
  });
  const node = await detect({ 'package.json': pkg({}), 'package-lock.json': '{}' }, { runCommand: 'node x.js' });
  assert.deepEqual(decisions(node), { kind: 'dynamic', detected: 'node (npm)', install: [['npm', 'ci', '--no-audit', '--no-fund']], runCommand: 'node x.js', port: 3000 });
  const py = await detect({ 'requirements.txt': 'flask==3.0\n' }, { runCommand: '.venv/bin/python -m flask run' });
  assert.equal(py.kind === 'dynamic' && py.install.length, 3, 'venv, pip install, console scripts made relocatable');
});

test('a Dockerfile without a run command needs a container driver', async () => {
  const err = await detectError({ Dockerfile: 'FROM node', 'package.json': pkg({ scripts: { start: 'x' } }) }, {}, 'dockerfile_requires_container_driver');
  assert.match(err.message, /runs processes, not images/);
  await detectError({ Dockerfile: 'FROM node' }, { kind: 'dynamic' }, 'dockerfile_requires_container_driver');
  const plan = await detect({ Dockerfile: 'FROM node' }, { runCommand: 'node s.js' });
  assert.equal(plan.kind === 'dynamic' && plan.detected, 'explicit');
});

test('python: a stdlib-only app installs nothing and runs with python3', async () => {
  const plan = await detect({ 'requirements.txt': '# nothing\n\n   # still nothing\n', 'main.py': '' });
  assert.deepEqual(decisions(plan), { kind: 'dynamic', detected: 'python', install: [], runCommand: 'python3 main.py', port: 8000 });
  const tools = await detect({ 'pyproject.toml': '[tool.black]\nline-length = 100\n', 'server.py': '' });
  assert.deepEqual(tools.kind === 'dynamic' && tools.install, [], 'tool settings alone are not a project');
});

test('python: packages go into a .venv inside the app, which then runs the app', async () => {
  const plan = await detect({ 'requirements.txt': 'flask==3.0  # web\n', 'app.py': '', 'main.py': '' });
  assert.deepEqual(plan.kind === 'dynamic' && plan.install, [
    ['python3', '-m', 'venv', '--copies', '.venv'],
    ['.venv/bin/python', '-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '-r', 'requirements.txt'],
    ['.venv/bin/python', '-c', RELOCATE_VENV_SCRIPTS],
  ]);
  assert.equal(plan.kind === 'dynamic' && plan.runCommand, '.venv/bin/python app.py', 'app.py comes before main.py');
  const project = await detect({ 'pyproject.toml': '[project]\nname = "x"\n', 'server.py': '' });
  assert.deepEqual(project.kind === 'dynamic' && project.install[1]?.slice(-1), ['.']);
});

test('python without an entry file or python3 fails with the right code', async () => {
  await detectError({ 'requirements.txt': '' }, {}, 'run_command_missing');
  const err = await detectError({ 'requirements.txt': '', 'app.py': '' }, { pathEnv: join(work, 'empty') }, 'build_toolchain_missing');
  assert.equal(err.details.toolchain, 'python3');
});

test('node: a missing package manager or node is build_toolchain_missing naming it', async () => {
  const empty = join(work, 'empty');
  const pnpm = await detectError({ 'package.json': pkg({ main: 'a.js' }), 'a.js': '', 'pnpm-lock.yaml': '' }, { pathEnv: empty }, 'build_toolchain_missing');
  assert.equal(pnpm.details.toolchain, 'node');
  const onlyNode = join(work, 'only-node');
  await mkdir(onlyNode);
  await writeFile(join(onlyNode, 'node'), '#!/bin/sh\n', { mode: 0o755 });
  const yarn = await detectError({ 'package.json': pkg({ main: 'a.js' }), 'a.js': '', 'yarn.lock': '' }, { pathEnv: onlyNode }, 'build_toolchain_missing');
  assert.equal(yarn.details.toolchain, 'npm', 'a missing yarn is fetched with npm, which must then be there');
});

test('node: a pnpm or yarn 1 the host lacks is fetched, at the version package.json pins or the lockfile implies', async () => {
  const nodeAndNpm = join(work, 'node-and-npm');
  await mkdir(nodeAndNpm);
  for (const tool of ['node', 'npm']) await writeFile(join(nodeAndNpm, tool), '#!/bin/sh\n', { mode: 0o755 });
  const fetched = async (files: Record<string, string>) => {
    const plan = await detect({ 'a.js': '', ...files }, { pathEnv: nodeAndNpm });
    return plan.kind === 'dynamic' ? plan.fetchTools : 'static';
  };
  assert.deepEqual(await fetched({ 'package.json': pkg({ main: 'a.js' }), 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }), ['pnpm@9']);
  assert.deepEqual(await fetched({ 'package.json': pkg({ main: 'a.js' }), 'pnpm-lock.yaml': "lockfileVersion: '6.0'\n" }), ['pnpm@8']);
  assert.deepEqual(await fetched({ 'package.json': pkg({ main: 'a.js', packageManager: 'pnpm@8.15.1+sha512.abc' }), 'pnpm-lock.yaml': '' }), ['pnpm@8.15.1']);
  assert.deepEqual(await fetched({ 'package.json': pkg({ main: 'a.js' }), 'yarn.lock': '# yarn lockfile v1\n' }), ['yarn@1']);
  assert.deepEqual(await fetched({ 'package.json': pkg({ main: 'a.js', packageManager: 'yarn@1.22.22' }), 'yarn.lock': '' }), ['yarn@1.22.22']);
  const berry = await detectError({ 'package.json': pkg({ main: 'a.js' }), 'a.js': '', 'yarn.lock': '__metadata:\n  version: 8\n' }, { pathEnv: nodeAndNpm }, 'build_toolchain_missing');
  assert.match(berry.message, /yarn 2 or newer/);
  // A host that has the manager uses its own.
  assert.equal(await detect({ 'package.json': pkg({ main: 'a.js' }), 'a.js': '', 'pnpm-lock.yaml': '' }).then((p) => p.kind === 'dynamic' && p.fetchTools), undefined);
});

test('go and mix need their toolchains', async (t) => {
  const goErr = await detectError({ 'go.mod': 'module x\n' }, {}, 'build_toolchain_missing');
  assert.equal(goErr.details.toolchain, 'go');
  const mixErr = await detectError({ 'mix.exs': 'defmodule X.MixProject do\nend\n' }, { pathEnv: join(work, 'no-tools') }, 'build_toolchain_missing');
  assert.deepEqual(mixErr.details, { toolchain: 'elixir', binary: 'mix' });
  if (!(await findExecutable('go'))) return t.diagnostic('go is not installed here: the go plan itself is not checked');
  const plan = await detect({ 'go.mod': 'module x\n' }, { pathEnv: process.env.PATH });
  assert.deepEqual(decisions(plan), { kind: 'dynamic', detected: 'go', install: [], buildCommand: 'go build -trimpath -o .slipway/app .', runCommand: './.slipway/app', port: 8080 });
});

test('mix: Hex and the dependencies are fetched only for a project that has some', async () => {
  const project = (deps: string) => `defmodule A.MixProject do\n  use Mix.Project\n  def project, do: [app: :my_app, deps: deps()]\n  defp deps, do: [${deps}]\nend\n`;
  const offline = await detect({ 'mix.exs': project('') });
  assert.ok(offline.kind === 'dynamic');
  assert.deepEqual(offline.install, []);
  assert.equal(offline.runCommand, 'RELEASE_TMP=/tmp RELEASE_DISTRIBUTION=none .slipway/release/bin/my_app start');
  const withDeps = await detect({ 'mix.exs': project('{:plug_cowboy, "~> 2.0"}') });
  assert.deepEqual(withDeps.kind === 'dynamic' && withDeps.install.map((argv) => argv.slice(0, 2).join(' ')), ['mix local.hex', 'mix local.rebar', 'mix deps.get']);
  const locked = await detect({ 'mix.exs': project(''), 'mix.lock': '%{}\n' });
  assert.equal(locked.kind === 'dynamic' && locked.install.length, 3, 'a lock file means dependencies');
});

test('findExecutable searches PATH like which, skipping non-executables and relative entries', async () => {
  assert.equal(await findExecutable('node', `relative:${fakePath}`), join(fakePath, 'node'));
  assert.equal(await findExecutable('not-executable', fakePath), null);
  assert.equal(await findExecutable('../bin/node', fakePath), null);
  assert.equal(await findExecutable('node', `${join(work, 'empty')}:${fakePath}`), join(fakePath, 'node'), 'a missing directory is passed over');
});

test('an invalid package.json fails the build, saying so', async () => {
  const err = await detectError({ 'package.json': '{ nope' }, {}, 'build_failed');
  assert.match(err.message, /package\.json is not valid JSON/);
});

test('with a container driver a Dockerfile is the plan: built by the engine, its EXPOSEd port, its own command', async () => {
  const dockerfile = 'ARG NODE=20\nFROM node:${NODE}-slim AS build\nRUN npm ci\nFROM gcr.io/distroless/nodejs20\nCOPY --from=build /app /app\nEXPOSE 53/udp 3000/tcp 4000\nCMD ["/app/server.js"]\n';
  const plan = await detect({ Dockerfile: dockerfile, 'package.json': pkg({ scripts: { start: 'x' } }) }, { containerImages: true });
  assert.deepEqual(decisions(plan), { kind: 'dynamic', detected: 'dockerfile', install: [], runCommand: '', port: 3000, dockerfile: 'Dockerfile' });
  assert.ok(plan.reasons.some((r) => r.startsWith('Dockerfile found')), plan.reasons.join('\n'));
  assert.ok(plan.reasons.includes('base images: node:20-slim, gcr.io/distroless/nodejs20 (must be on the engine: no registry is reachable)'), plan.reasons.join('\n'));
  assert.ok(plan.reasons.includes("run: the image's own CMD/ENTRYPOINT"));
  assert.ok(plan.reasons.includes('port 3000: EXPOSE 53/udp 3000/tcp 4000'), plan.reasons.join('\n'));
  // kind dynamic is the same plan; kind static still leaves the Dockerfile alone.
  assert.deepEqual(decisions(await detect({ Dockerfile: dockerfile }, { containerImages: true, kind: 'dynamic' })), decisions(plan));
  assert.deepEqual(decisions(await detect({ Dockerfile: dockerfile }, { containerImages: true, kind: 'static' })), plainStatic);
});

test('a Dockerfile without EXPOSE gets 8080; a given port or run command replaces the detected one, with its reason', async () => {
  const bare = await detect({ Dockerfile: 'FROM busybox\nCMD ["httpd", "-f"]\n' }, { containerImages: true });
  assert.equal(bare.kind === 'dynamic' && bare.port, 8080);
  assert.ok(bare.reasons.includes('no EXPOSE: 8080, the common container default; the app gets PORT'), bare.reasons.join('\n'));
  const given = await detect({ Dockerfile: 'FROM busybox\nEXPOSE 3000\n' }, { containerImages: true, port: 9000, runCommand: 'httpd -f -p $PORT' });
  assert.deepEqual(decisions(given), { kind: 'dynamic', detected: 'dockerfile', install: [], runCommand: 'httpd -f -p $PORT', port: 9000, dockerfile: 'Dockerfile' });
  assert.ok(given.reasons.includes('port 9000: given') && !given.reasons.some((r) => r.includes('EXPOSE')), given.reasons.join('\n'));
  assert.ok(given.reasons.includes('run: httpd -f -p $PORT (given, by /bin/sh -c in the image instead of its own command)'), given.reasons.join('\n'));
  // The Dockerfile's steps are the build: a build command is refused, not silently dropped.
  const err = await detectError({ Dockerfile: 'FROM busybox\n' }, { containerImages: true, buildCommand: 'make' }, 'invalid_request');
  assert.equal(err.details.field, 'build_command');
});

test('without a container driver a Dockerfile is refused, and the refusal names how to get one', async () => {
  const err = await detectError({ Dockerfile: 'FROM busybox\nEXPOSE 3000\n' }, { containerImages: false }, 'dockerfile_requires_container_driver');
  assert.match(err.message, /SLIPWAY_RUNTIME_DRIVER=docker/);
  assert.match(err.message, /give run_command/);
});
