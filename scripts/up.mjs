#!/usr/bin/env node
// `npm run up`: installs what is missing, builds, and starts Slipway in the foreground.
// Plain JavaScript on purpose: it must run before any dependency is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Slipway needs Node.js 20.19 or newer; this is ${process.version}.`);
  process.exit(1);
}

function run(cmd, args, what) {
  console.log(`› ${what}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${what} failed (exit ${r.status ?? r.signal}).`);
    process.exit(r.status ?? 1);
  }
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
// npm writes node_modules/.package-lock.json on every install: older than the lockfile means
// the dependencies changed since the last install.
const installed = mtime(join(root, 'node_modules', '.package-lock.json'));
if (!installed || installed < mtime(join(root, 'package-lock.json'))) {
  run('npm', ['ci', '--no-audit', '--no-fund'], 'installing npm dependencies');
}
run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], 'building');

const child = spawn(process.execPath, [join(root, 'bin', 'slipway.mjs'), 'up'], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
