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

// Dynamic apps are sandboxed with bubblewrap, nftables and iproute2 (Debian packages), and
// e2fsprogs formats their disk-backed /tmp. As root on Debian/Ubuntu we install what is missing;
// otherwise the agent runs apps as plain processes (or, without e2fsprogs only, with a memory-
// backed /tmp) and says so.
const SYSTEM_PACKAGES = [['bwrap', 'bubblewrap'], ['nft', 'nftables'], ['ip', 'iproute2'], ['mkfs.ext4', 'e2fsprogs']];
const onPath = (bin) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => existsSync(join(d, bin)));
const missing = SYSTEM_PACKAGES.filter(([bin]) => !onPath(bin)).map(([, pkg]) => pkg);
if (missing.length && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get') && process.env.SLIPWAY_RUNTIME_ISOLATION !== 'none') {
  console.log(`› installing ${missing.join(', ')} (sandboxing of dynamic apps)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env }) : update;
  if (install.status !== 0) console.warn('could not install them: dynamic apps will run without isolation');
} else if (missing.length) {
  console.warn(`${missing.join(', ')} missing: dynamic apps will run as plain processes (install them and run as root to sandbox them)`);
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
