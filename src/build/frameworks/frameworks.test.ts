import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSlipwayError, type ErrorCode, type SlipwayError } from '../../core/errors.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { detectApp, type AppPlan, type DetectAppOptions } from '../detect-app.js';
import { FRAMEWORKS } from './table.js';

let work: string;
/** Fake tools: detection looks them up on PATH, never runs them. */
let fakePath: string;
let counter = 0;

before(async () => {
  work = await makeTempDir('frameworks-test-');
  fakePath = join(work, 'bin');
  await mkdir(fakePath);
  for (const tool of ['node', 'npm', 'python3', 'hugo', 'jekyll']) {
    await writeFile(join(fakePath, tool), '#!/bin/sh\nexit 0\n');
    await chmod(join(fakePath, tool), 0o755);
  }
});
after(async () => {
  await removeDir(work);
});

async function detect(files: Record<string, string>, options: Partial<DetectAppOptions> = {}): Promise<AppPlan> {
  const dir = join(work, `src-${counter++}`);
  await mkdir(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return detectApp(dir, { kind: 'auto', pathEnv: fakePath, ...options });
}

async function refused(files: Record<string, string>, options: Partial<DetectAppOptions>, code: ErrorCode): Promise<SlipwayError> {
  const err = await detect(files, options).catch((e: unknown) => e);
  assert.ok(isSlipwayError(err, code), `expected ${code}, got ${String(err)}`);
  return err;
}

const pkg = (deps: Record<string, string>, scripts: Record<string, string> = { build: 'x build' }): string =>
  JSON.stringify({ scripts, dependencies: deps });
const npmDev = [['npm', 'ci', '--no-audit', '--no-fund', '--include=dev']];
const lock = { 'package-lock.json': '{}' };

/** A static plan's decisions, reasons left out. */
function site(plan: AppPlan): unknown {
  assert.equal(plan.kind, 'static', JSON.stringify(plan));
  return plan.kind === 'static' ? { detected: plan.detected, install: plan.install, build: plan.buildCommand, output: plan.outputPath } : null;
}

function app(plan: AppPlan): unknown {
  assert.equal(plan.kind, 'dynamic', JSON.stringify(plan));
  return plan.kind === 'dynamic' ? { detected: plan.detected, build: plan.buildCommand, run: plan.runCommand, port: plan.port, root: plan.packageRoot } : null;
}

test('every rule has a unique id, a description and a docs summary', () => {
  const ids = FRAMEWORKS.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const rule of FRAMEWORKS) assert.ok(rule.name && rule.looksFor && rule.summary.build && rule.summary.serves, rule.id);
  assert.equal(ids[0], 'dockerfile', 'a Dockerfile is looked at first');
  assert.equal(ids.at(-1), 'static', 'plain files last');
  assert.ok(ids.indexOf('vite') > ids.indexOf('sveltekit') && ids.indexOf('vite') > ids.indexOf('remix'), 'frameworks built on Vite before Vite');
});

test('vite: installed with devDependencies, built, dist published; reasons say why', async () => {
  const plan = await detect({ 'package.json': pkg({ vite: '^6.0.0' }, { build: 'tsc && vite build' }), ...lock, 'vite.config.ts': 'export default {}' });
  assert.deepEqual(site(plan), { detected: 'vite', install: npmDev, build: 'npm run build', output: 'dist' });
  for (const reason of ['package.json depends on vite (^6.0.0)', 'vite.config.ts found', "output: dist (Vite's default)"]) {
    assert.ok(plan.reasons.includes(reason), `${reason} in ${JSON.stringify(plan.reasons)}`);
  }
  assert.ok(plan.reasons.some((r) => r.startsWith('package-lock.json: npm ci')));
  const outDir = await detect({ 'package.json': pkg({ vite: '6' }, {}), 'vite.config.js': "export default { build: { outDir: './www/' } }" });
  assert.deepEqual(site(outDir), { detected: 'vite', install: [['npm', 'install', '--no-audit', '--no-fund', '--include=dev']], build: 'npx --no-install vite build', output: 'www' });
  assert.ok(outDir.reasons.includes('no lockfile: npm install --no-audit --no-fund --include=dev'));
  const ssr = await detect({ 'package.json': pkg({ vite: '6', express: '4' }, { build: 'vite build', start: 'node server.js' }) });
  assert.equal(ssr.detected, 'node (npm)', 'a server that uses Vite for assets is a Node app');
});

test('vite with kind static still builds', async () => {
  assert.deepEqual(site(await detect({ 'package.json': pkg({ vite: '6' }), ...lock }, { kind: 'static' })), { detected: 'vite', install: npmDev, build: 'npm run build', output: 'dist' });
});

test('create react app, gatsby, docusaurus: their output folders', async () => {
  assert.deepEqual(site(await detect({ 'package.json': pkg({ 'react-scripts': '5' }), ...lock })), { detected: 'create-react-app', install: npmDev, build: 'npm run build', output: 'build' });
  assert.deepEqual(site(await detect({ 'package.json': pkg({ gatsby: '5' }), ...lock })), { detected: 'gatsby', install: npmDev, build: 'npm run build', output: 'public' });
  assert.deepEqual(site(await detect({ 'package.json': pkg({ '@docusaurus/core': '3' }), ...lock })), { detected: 'docusaurus', install: npmDev, build: 'npm run build', output: 'build' });
});

test('angular: the output folder comes from angular.json', async () => {
  const angularJson = (builder: string, outputPath?: string) => JSON.stringify({ projects: { shop: { architect: { build: { builder, options: outputPath === undefined ? {} : { outputPath } } } } } });
  const modern = await detect({ 'package.json': pkg({ '@angular/core': '19' }), ...lock, 'angular.json': angularJson('@angular-devkit/build-angular:application', 'dist/shop') });
  assert.deepEqual(site(modern), { detected: 'angular', install: npmDev, build: 'npm run build', output: 'dist/shop/browser' });
  const old = await detect({ 'package.json': pkg({ '@angular/core': '15' }), ...lock, 'angular.json': angularJson('@angular-devkit/build-angular:browser') });
  assert.equal(old.kind === 'static' && old.outputPath, 'dist/shop');
});

test('next.js: standalone server packaged alone, or a static export', async () => {
  const server = await detect({ 'package.json': pkg({ next: '15.1.0', react: '19' }, { build: 'next build', start: 'next start' }), ...lock });
  assert.deepEqual(app(server), {
    detected: 'nextjs',
    build: 'NEXT_PRIVATE_STANDALONE=true npm run build && cp -R .next/static .next/standalone/.next/static && if [ -d public ]; then cp -R public .next/standalone/public; fi',
    run: 'HOSTNAME=0.0.0.0 node server.js', port: 3000, root: '.next/standalone',
  });
  assert.ok(server.reasons.includes('package.json depends on next (15.1.0)'));
  const exported = await detect({ 'package.json': pkg({ next: '15' }), ...lock, 'next.config.mjs': "export default { output: 'export' }" });
  assert.deepEqual(site(exported), { detected: 'nextjs', install: npmDev, build: 'npm run build', output: 'out' });
  const ownBuild = await detect({ 'package.json': pkg({ next: '15' }), ...lock }, { buildCommand: 'make' });
  assert.deepEqual(app(ownBuild), { detected: 'nextjs', build: 'make', run: 'npx --no-install next start', port: 3000, root: undefined }, 'a build of their own runs from the whole tree');
});

test('nuxt: a Nitro server in .output, or nuxt generate', async () => {
  assert.deepEqual(app(await detect({ 'package.json': pkg({ nuxt: '3' }, { build: 'nuxt build' }), ...lock })), { detected: 'nuxt', build: 'npm run build', run: 'node server/index.mjs', port: 3000, root: '.output' });
  assert.deepEqual(site(await detect({ 'package.json': pkg({ nuxt: '3' }, { build: 'nuxt generate' }), ...lock })), { detected: 'nuxt', install: npmDev, build: 'npm run build', output: '.output/public' });
});

test('astro: static by default, a server with @astrojs/node on its 4321', async () => {
  assert.deepEqual(site(await detect({ 'package.json': pkg({ astro: '5' }), ...lock })), { detected: 'astro', install: npmDev, build: 'npm run build', output: 'dist' });
  const server = await detect({ 'package.json': pkg({ astro: '5', '@astrojs/node': '9' }), ...lock });
  assert.deepEqual(app(server), { detected: 'astro', build: 'npm run build', run: 'HOST=0.0.0.0 node ./dist/server/entry.mjs', port: 4321, root: undefined });
  assert.ok(server.reasons.includes("port 4321: Astro's default (it reads PORT)"));
  assert.equal((await detect({ 'package.json': pkg({ astro: '5', '@astrojs/node': '9' }), ...lock }, { port: 8080 })).kind === 'dynamic' && 8080, 8080);
});

test('sveltekit: the adapter decides; adapter-auto is refused with what to change', async () => {
  const config = (adapter: string) => `import adapter from '@sveltejs/adapter-${adapter}';\nexport default { kit: { adapter: adapter() } };\n`;
  const deps = { '@sveltejs/kit': '2', vite: '6' };
  assert.deepEqual(site(await detect({ 'package.json': pkg(deps), ...lock, 'svelte.config.js': config('static') })), { detected: 'sveltekit', install: npmDev, build: 'npm run build', output: 'build' });
  assert.deepEqual(app(await detect({ 'package.json': pkg(deps), ...lock, 'svelte.config.js': config('node') })), { detected: 'sveltekit', build: 'npm run build', run: 'node build', port: 3000, root: undefined });
  const auto = await refused({ 'package.json': pkg(deps), ...lock, 'svelte.config.js': config('auto') }, {}, 'run_command_missing');
  assert.match(auto.message, /adapter-node/);
});

test('remix and react router: the start script (directly when plain, else npm start), or SPA mode build/client', async () => {
  assert.deepEqual(app(await detect({ 'package.json': pkg({ '@react-router/node': '7' }, { build: 'react-router build', start: 'react-router-serve ./build/server/index.js' }), ...lock })), {
    detected: 'remix', build: 'npm run build', run: 'PATH="$PWD/node_modules/.bin:$PATH" exec react-router-serve ./build/server/index.js', port: 3000, root: undefined,
  });
  const hooked = await detect({ 'package.json': pkg({ '@remix-run/serve': '2' }, { build: 'remix build', start: 'remix-serve build/index.js', prestart: 'node check.js' }), ...lock });
  assert.equal(hooked.kind === 'dynamic' && hooked.runCommand, 'npm start', 'a prestart script keeps npm');
  assert.deepEqual(site(await detect({ 'package.json': pkg({ '@remix-run/react': '2' }), ...lock })), { detected: 'remix', install: npmDev, build: 'npm run build', output: 'build/client' });
});

test('hugo and jekyll need their tools and publish public and _site', async () => {
  assert.deepEqual(site(await detect({ 'hugo.toml': '', 'content/a.md': '' })), { detected: 'hugo', install: [], build: 'hugo --minify', output: 'public' });
  assert.deepEqual(site(await detect({ 'config.toml': '', 'content/a.md': '' })), { detected: 'hugo', install: [], build: 'hugo --minify', output: 'public' });
  assert.deepEqual(site(await detect({ '_config.yml': '', Gemfile: '' })), { detected: 'jekyll', install: [], build: 'jekyll build', output: '_site' });
  const missing = await refused({ 'hugo.toml': '' }, { pathEnv: join(work, 'none') }, 'build_toolchain_missing');
  assert.equal(missing.details.toolchain, 'hugo');
});

test('node servers start from start, main or server.js', async () => {
  const express = await detect({ 'package.json': pkg({ express: '4' }, { start: 'node index.js' }), ...lock });
  const direct = 'PATH="$PWD/node_modules/.bin:$PATH" exec node index.js';
  assert.deepEqual(app(express), { detected: 'node (npm)', build: undefined, run: direct, port: 3000, root: undefined });
  assert.ok(express.reasons.includes(`run: ${direct} (the start script \`node index.js\`, run directly with node_modules/.bin on PATH as npm would, so no npm stays resident)`), express.reasons.join('\n'));
});

test('python: stdlib, flask, fastapi and django each start the way they are meant to', async () => {
  const stdlib = await detect({ 'server.py': 'from http.server import HTTPServer\nHTTPServer(("", 8000), H).serve_forever()\n' });
  assert.deepEqual(app(stdlib), { detected: 'python', build: undefined, run: 'python3 server.py', port: 8000, root: undefined });
  assert.ok(stdlib.reasons.includes('server.py with no requirements.txt: the standard library only'));
  const own = await detect({ 'main.py': 'import http.server\nPORT = 9090\n' });
  assert.equal(own.kind === 'dynamic' && own.port, 9090, 'the port the app names');
  const flask = await detect({ 'requirements.txt': 'flask\n', 'app.py': 'from flask import Flask\napp = Flask(__name__)\napp.run()\n' });
  assert.deepEqual(app(flask), { detected: 'flask', build: undefined, run: '.venv/bin/python app.py', port: 5000, root: undefined });
  const gunicorn = await detect({ 'requirements.txt': 'Flask==3.0\ngunicorn\n', 'app.py': 'app = Flask(__name__)\n' });
  assert.equal(gunicorn.kind === 'dynamic' && gunicorn.runCommand, '.venv/bin/python -m gunicorn --bind 0.0.0.0:$PORT app:app');
  const fastapi = await detect({ 'requirements.txt': 'fastapi\nuvicorn[standard]\n', 'main.py': 'from fastapi import FastAPI\napi = FastAPI()\n' });
  assert.deepEqual(app(fastapi), { detected: 'fastapi', build: undefined, run: '.venv/bin/python -m uvicorn main:api --host 0.0.0.0 --port $PORT', port: 8000, root: undefined });
  const manage = "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n";
  assert.equal((await detect({ 'requirements.txt': 'django\n', 'manage.py': manage })).kind === 'dynamic' && 'ok', 'ok');
  const django = await detect({ 'requirements.txt': 'django\n', 'manage.py': manage });
  assert.equal(django.kind === 'dynamic' && django.runCommand, '.venv/bin/python manage.py runserver 0.0.0.0:$PORT --noreload');
  const djangoGunicorn = await detect({ 'requirements.txt': 'django\ngunicorn\n', 'manage.py': manage });
  assert.equal(djangoGunicorn.kind === 'dynamic' && djangoGunicorn.runCommand, '.venv/bin/python -m gunicorn --bind 0.0.0.0:$PORT mysite.wsgi');
});

test('python: a poetry project installs with pip; uv is used only when the host has it', async () => {
  const poetry = await detect({ 'pyproject.toml': '[tool.poetry]\nname = "x"\n', 'poetry.lock': '', 'main.py': '' });
  assert.deepEqual(poetry.kind === 'dynamic' && poetry.install[1]?.slice(-1), ['.']);
  assert.ok(poetry.reasons.includes('pyproject.toml (poetry project): pip install . into .venv'));
  const uvLock = { 'pyproject.toml': '[project]\nname = "x"\n', 'uv.lock': '', 'main.py': '' };
  assert.ok((await detect(uvLock)).reasons.includes('pyproject.toml (uv.lock, but no uv on the host): pip install . into .venv'));
  const withUv = join(work, 'with-uv');
  await mkdir(withUv);
  for (const tool of ['python3', 'uv']) await writeFile(join(withUv, tool), '#!/bin/sh\n', { mode: 0o755 });
  const uv = await detect(uvLock, { pathEnv: withUv });
  assert.deepEqual(uv.kind === 'dynamic' && uv.install.map((argv) => argv.slice(0, 2).join(' ')), ['python3 -m', 'uv sync', '.venv/bin/python -c']);
});

test('python: a uv project installs itself, not only its dependencies, and not as an editable link into the build tree', async () => {
  const withUv = join(work, 'with-uv-sync');
  await mkdir(withUv);
  for (const tool of ['python3', 'uv']) await writeFile(join(withUv, tool), '#!/bin/sh\n', { mode: 0o755 });
  const files = { 'pyproject.toml': '[project]\nname = "x"\n[build-system]\nrequires = ["hatchling"]\n', 'uv.lock': '', 'main.py': '' };
  const plan = await detect(files, { pathEnv: withUv });
  assert.ok(plan.kind === 'dynamic');
  // `uv sync` installs the project itself unless it is a virtual project (no build system),
  // which is uv's own rule; --no-editable because an editable install points into the build's
  // tree, which is gone when the release runs. --python pins the .venv made from the host's
  // python3: when it does not satisfy requires-python the sync fails instead of rebuilding
  // .venv around an interpreter outside the release.
  assert.deepEqual(plan.install[1], ['uv', 'sync', '--frozen', '--no-dev', '--no-editable', '--no-python-downloads', '--python', '.venv/bin/python']);
  assert.ok(plan.reasons.includes('pyproject.toml and uv.lock, uv installed: uv sync --frozen into .venv (the locked packages and the project itself)'));
  // Without a lock, pip installs the project (and with it its dependencies).
  const unlocked = await detect({ 'pyproject.toml': files['pyproject.toml'], 'main.py': '' }, { pathEnv: withUv });
  assert.deepEqual(unlocked.kind === 'dynamic' && unlocked.install[1], ['.venv/bin/python', '-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '.']);
});

test('static files: the root, or public/', async () => {
  assert.deepEqual(site(await detect({ 'index.html': '' })), { detected: 'static', install: [], build: undefined, output: undefined });
  assert.deepEqual(site(await detect({ 'public/index.html': '' })), { detected: 'static', install: [], build: undefined, output: 'public' });
});

test('a source that needs a build and gets none is build_required, naming what was found and the way out', async () => {
  const vite = await refused({ 'index.html': '', 'vite.config.ts': '' }, {}, 'build_required');
  assert.deepEqual(vite.details.found, ['vite.config.ts']);
  assert.match(vite.message, /--as-is/);
  const ts = await refused({ 'index.html': '', 'tsconfig.json': '{}', 'src/main.tsx': '' }, {}, 'build_required');
  assert.deepEqual(ts.details.found, ['tsconfig.json with src/main.tsx']);
  const py = await refused({ 'index.html': '', 'tool.py': '' }, { kind: 'static' }, 'build_required');
  assert.deepEqual(py.details.found, ['Python files at the root (tool.py)']);
  await refused({ 'package.json': pkg({}, { start: 'x' }), 'next.config.js': '' }, { kind: 'static' }, 'build_required');
  // The ways out: the files as they are, a build command, or an output folder.
  assert.deepEqual(site(await detect({ 'index.html': '', 'vite.config.ts': '' }, { asIs: true })), { detected: 'as-is', install: [], build: undefined, output: undefined });
  assert.equal((await detect({ 'index.html': '', 'vite.config.ts': '' }, { buildCommand: 'make' })).kind, 'static');
  assert.equal((await detect({ 'index.html': '', 'tool.py': '' }, { kind: 'static', outputPath: 'www' })).kind, 'static');
  await refused({ 'index.html': '' }, { asIs: true, kind: 'dynamic' }, 'invalid_request');
});

test('a Dockerfile still comes first, and a run command still skips it', async () => {
  await refused({ Dockerfile: 'FROM node', 'package.json': pkg({ vite: '6' }) }, {}, 'dockerfile_requires_container_driver');
  const plan = await detect({ Dockerfile: 'FROM node', 'package.json': pkg({ vite: '6' }), ...lock }, { runCommand: 'npx vite preview' });
  assert.equal(plan.kind === 'dynamic' && plan.detected, 'vite');
  assert.equal(plan.kind === 'dynamic' && plan.buildCommand, 'npm run build', 'the site is still built');
  assert.ok(plan.reasons.includes('run: npx vite preview (given)'));
});
