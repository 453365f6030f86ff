#!/usr/bin/env node
// `npm run up`: installs what is missing, builds, and becomes `slipway up` in the foreground.
// Plain JavaScript on purpose: it must run before any dependency is installed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

// SLIPWAY_RUNTIME_DRIVER=docker runs Dockerfile apps on Slipway's own dockerd (Debian's
// docker.io; docs/docker.md). Without systemd, the package's init script starts a default
// daemon at install time (a docker0 bridge, iptables rules) unless /usr/sbin/policy-rc.d
// refuses service starts (exit 101): when there is none, one is put there for the install and
// removed afterwards; one that is there already must refuse, or nothing is installed.
if (process.env.SLIPWAY_RUNTIME_DRIVER === 'docker' && !onPath('dockerd')) {
  const how = 'apt-get install --no-install-recommends docker.io, with /usr/sbin/policy-rc.d exiting 101 (docs/docker.md)';
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    console.error(`SLIPWAY_RUNTIME_DRIVER=docker needs Docker's engine (dockerd), which is missing. Install it (${how}), run npm run up as root on Debian or Ubuntu to have it installed, or unset SLIPWAY_RUNTIME_DRIVER.`);
    process.exit(1);
  }
  const policy = '/usr/sbin/policy-rc.d';
  const ours = !existsSync(policy);
  if (!ours && spawnSync(policy, ['docker', 'start'], { stdio: 'ignore' }).status !== 101) {
    console.error(`${policy} allows service starts: installing docker.io would start a default Docker daemon (docker0, iptables rules). Install it yourself (${how}), or make ${policy} exit 101 first.`);
    process.exit(1);
  }
  console.log('› installing docker.io (Docker\'s engine, for SLIPWAY_RUNTIME_DRIVER=docker)');
  if (ours) writeFileSync(policy, '#!/bin/sh\n# Slipway\'s npm run up: no service starts while docker.io installs; removed afterwards.\nexit 101\n', { mode: 0o755 });
  // spawnSync would hold Ctrl-C until apt-get ends and then die without removing policy-rc.d:
  // the install runs as children we wait on, a signal is passed on to the running one, and the
  // policy goes once it has ended (not before: its postinst could still start the daemon).
  let current = null;
  let stoppedBy = null;
  const onSignal = (signal) => {
    stoppedBy = signal;
    current?.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, onSignal);
  const step = (args, env) => new Promise((resolve) => {
    if (stoppedBy) return resolve({ status: null, signal: stoppedBy });
    current = spawn('apt-get', args, { stdio: 'inherit', env });
    current.on('error', (err) => resolve({ status: null, signal: err.message }));
    current.on('exit', (status, signal) => resolve({ status, signal }));
  });
  let install;
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const update = await step(['update', '-qq'], env);
    install = update.status === 0 ? await step(['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], env) : update;
  } finally {
    current = null;
    if (ours) rmSync(policy, { force: true });
    for (const signal of ['SIGINT', 'SIGTERM']) process.off(signal, onSignal);
  }
  if (stoppedBy) {
    console.error(`docker.io install stopped by ${stoppedBy}${ours ? `; ${policy} removed` : ''}.`);
    process.exit(stoppedBy === 'SIGINT' ? 130 : 143);
  }
  if (install.status !== 0 || !onPath('dockerd')) {
    console.error(`could not install docker.io (exit ${install.status ?? install.signal}); install it (${how}) or unset SLIPWAY_RUNTIME_DRIVER.`);
    process.exit(1);
  }
  // On systemd the package enables docker.service and docker.socket, so the next boot (or the
  // first `docker` command, through the socket) would start a default daemon with docker0,
  // ip_forward=1 and its iptables rules. Slipway runs its own dockerd: those units are
  // disabled, stopped and masked.
  if (existsSync('/run/systemd/system') && onPath('systemctl')) {
    const units = ['docker.service', 'docker.socket'];
    console.log(`› disabling and masking ${units.join(' and ')}: Slipway starts its own dockerd, and the package's default one (docker0, ip_forward, iptables) must not start at boot`);
    const disabled = spawnSync('systemctl', ['disable', '--now', ...units], { stdio: 'inherit' });
    const masked = spawnSync('systemctl', ['mask', ...units], { stdio: 'inherit' });
    if (disabled.status !== 0 || masked.status !== 0) {
      console.warn(`could not disable and mask ${units.join(' and ')}: run systemctl disable --now ${units.join(' ')} && systemctl mask ${units.join(' ')} yourself`);
    }
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

// From here on this process is `slipway up` itself, not a parent waiting on it: no second Node
// process stays resident between npm and the supervisor (docs/operations.md#memory), and
// Ctrl-C or systemd's SIGTERM reach `up`'s own handlers directly. `up` starts the server, edge
// and agent as `node <process.argv[1]> <command>`, so argv[1] must name the executable, not
// this script.
const bin = join(root, 'bin', 'slipway.mjs');
process.argv.splice(1, Infinity, bin, 'up');
// Where it ran as a child before, and where npm starts it: relative settings keep their meaning.
process.chdir(root);
await import(pathToFileURL(bin).href);
