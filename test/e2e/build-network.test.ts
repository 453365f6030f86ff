// What a build can reach and see, tried from inside a real build: not a host service on
// loopback or on the host's own address, not Slipway's API, not a running instance, not
// another home's build trees, nothing of the server's environment; the npm registry, yes
// (the control: installs must keep working). And what the instance sees of the server's
// environment. Stopping the platform removes every build namespace, veth, table and route.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CLAIM_DIR } from '../../src/build/forwarding-claim.js';
import type { PublishSetting } from '../../src/sdk/index.js';
import { runCommand } from '../../src/util/child-process.js';
import { claimHostValue } from '../support/host-claims.js';
import { startIsolatedPlatform } from '../support/isolated-platform.js';
import { repoRoot, type Platform } from '../support/platform.js';

const MARKER = `marker${randomBytes(4).toString('hex')}`;
const MARKER_PATH = `/opt/${MARKER}-bin`;
// Claimed like the test platforms' own, so no platform of another test file shares it.
const buildSubnetClaim = claimHostValue('build-subnet', 200, 250);
const BUILD_SUBNET_B = buildSubnetClaim.value;
const BUILD_SUBNET = `10.${BUILD_SUBNET_B}.0.0/16`;
const OTHER_HOME_WORK = `/var/tmp/slipway-work-${MARKER}`;
const SECRET = `secret${randomBytes(4).toString('hex')}`;

let platform: Platform;
let label: string;
const servers: Server[] = [];

/** Prints `{ "host:port": outcome }` for each target in argv[2]. */
const PROBE_JS = `
const net = require('node:net');
function tryConnect(target) {
  const i = target.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = net.connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
    const done = (r) => { clearTimeout(t); s.destroy(); resolve(r); };
    const t = setTimeout(() => done('ETIMEDOUT'), 2000);
    s.once('connect', () => done('connected'));
    s.once('error', (e) => done(e.code));
  });
}
(async () => {
  const out = {};
  for (const t of JSON.parse(process.argv[2])) out[t] = await tryConnect(t);
  console.log(JSON.stringify(out));
})();
`;

/** Serves its own environment and that of pid 1 of its sandbox. */
const ENV_APP_JS = `
const fs = require('node:fs');
require('node:http').createServer((req, res) => {
  const pid1 = fs.readFileSync('/proc/1/environ', 'utf8').split('\\0').filter(Boolean);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ own: process.env, pid1 }));
}).listen(Number(process.env.PORT));
`;

const FAST: Partial<Record<PublishSetting, number>> = { health_grace_period_ms: 15_000, health_interval_ms: 200, drain_timeout_ms: 2000 };

function hostAddress(): string | undefined {
  return Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

async function listener(host: string): Promise<number> {
  const server = createServer((s) => s.destroy());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

async function egressInterface(): Promise<string | null> {
  const { stdout } = await runCommand(['ip', '-4', '-j', 'route', 'show', 'default'], { timeoutMs: 10_000 });
  return (JSON.parse(stdout || '[]') as Array<{ dev?: string }>)[0]?.dev ?? null;
}

before(async () => {
  // Another Slipway home's build tree, as buildWorkDir makes it: root's, 0711, with a build inside.
  await mkdir(join(OTHER_HOME_WORK, 'ver_other'), { recursive: true, mode: 0o711 });
  await writeFile(join(OTHER_HOME_WORK, 'ver_other', 'secret.txt'), SECRET);
  ({ platform, label } = await startIsolatedPlatform({
    env: { SLIPWAY_TEST_MARKER: MARKER, PATH: `${MARKER_PATH}:${process.env.PATH ?? ''}`, SLIPWAY_BUILD_SUBNET: BUILD_SUBNET },
  }));
  await platform.client.createDeployment({ slug: 'envapp' });
  const app = await platform.client.publish('envapp', { files: { 'server.js': ENV_APP_JS } }, { wait: true, runCommand: 'node server.js', port: 3000, settings: FAST });
  assert.equal(app.version.state, 'ready', JSON.stringify(app.version.error));
  await platform.client.createDeployment({ slug: 'probe' });
});

after(async () => {
  try {
    await stopAndCheck();
  } finally {
    buildSubnetClaim.release();
  }
});

/** Stops the platform and checks that nothing of its build network is left on the host. */
async function stopAndCheck(): Promise<void> {
  for (const s of servers) await new Promise((r) => s.close(r));
  await platform?.stop();
  await rm(OTHER_HOME_WORK, { recursive: true, force: true });
  if (!label) return;
  const [netns, links, tables, routes] = await Promise.all([
    runCommand(['ip', 'netns', 'list'], { timeoutMs: 10_000 }), runCommand(['ip', 'link'], { timeoutMs: 10_000 }),
    runCommand(['nft', 'list', 'tables'], { timeoutMs: 10_000 }), runCommand(['ip', 'route', 'show', 'table', 'all'], { timeoutMs: 10_000 }),
  ]);
  assert.doesNotMatch(netns.stdout, new RegExp(`${label}-b`), 'build namespaces are removed');
  assert.doesNotMatch(links.stdout, new RegExp(`${label}-b`), 'build veths are removed');
  assert.doesNotMatch(tables.stdout, new RegExp(`slipway_${label}_build`), 'the build firewall table is removed');
  assert.doesNotMatch(routes.stdout, new RegExp(`10\\.${BUILD_SUBNET_B}\\.`), 'the build subnet\'s routes are removed');
  const egress = await egressInterface();
  if (egress) {
    // Only this platform's claim can be checked here: platforms of test files running beside
    // this one claim and release the same interface at any time, so the value seen before this
    // file started may already have been theirs. forwarding-claim.test.ts proves the restore.
    const claims = join(DEFAULT_CLAIM_DIR, egress, 'users');
    assert.equal(existsSync(join(claims, label)), false, 'the platform\'s forwarding claim is released');
  }
}

/** Publishes a static site whose build writes `script`'s output to out/index.html; returns the page. */
async function buildOutput(script: string, files: Record<string, string> = {}): Promise<string> {
  const result = await platform.client.publish('probe', { files: { 'x.txt': 'x', ...files } }, { buildCommand: `mkdir -p out; (${script}) > out/index.html 2>&1`, outputPath: 'out', wait: true });
  const log = await platform.client.getBuildLog('probe', result.version.version_number).catch(() => '');
  assert.equal(result.version.state, 'ready', `${JSON.stringify(result.version.error)}\n${log}`);
  return (await platform.edge(`v${result.version.version_number}--probe.localhost`)).text;
}

test('the server says builds run in their own network namespace', async () => {
  const serverLog = await readFile(join(platform.home, 'logs', 'server.log'), 'utf8');
  assert.match(serverLog, /server: builds run sandboxed, each in its own network namespace/);
});

test('a build reaches the npm registry but nothing on the host, Slipway or its instances', async () => {
  const [instance] = (await platform.client.listInstances('envapp')).filter((i) => i.desired === 'running');
  assert.ok(instance?.address, JSON.stringify(instance));
  const loopback = await listener('127.0.0.1');
  const targets = [`127.0.0.1:${loopback}`, `127.0.0.1:${platform.apiPort}`, `127.0.0.1:${platform.httpPort}`, instance.address];
  const own = hostAddress();
  if (own) targets.push(`${own}:${await listener(own)}`, `${own}:${platform.apiPort}`);
  const raw = await buildOutput(`npm view is-number version; node probe.js '${JSON.stringify(targets)}'`, { 'probe.js': PROBE_JS });
  const [version, json] = raw.trim().split('\n');
  assert.match(version ?? '', /^\d+\.\d+\.\d+$/, `control: the build reaches the npm registry (${raw})`);
  const out = JSON.parse(json ?? '') as Record<string, string>;
  for (const t of targets) assert.notEqual(out[t], 'connected', `${t} must be unreachable from a build: ${raw}`);
});

test('the build\'s environment and PATH hold nothing of the server\'s', async () => {
  const env = await buildOutput('env');
  assert.match(env, /^PATH=/m, 'control: env printed the environment');
  const path = /^PATH=(.*)$/m.exec(env)?.[1] ?? '';
  assert.ok(!path.includes(MARKER) && !path.includes('node_modules') && !path.includes(repoRoot), `build PATH: ${path}`);
  assert.doesNotMatch(env, new RegExp(MARKER), 'no server variable reaches the build');
  assert.doesNotMatch(env, /^(OLDPWD|SHLVL|SLIPWAY_\w*)=/m);
  assert.ok(!env.includes(repoRoot), `the server's directory leaks into the build:\n${env}`);
});

test('an instance sees nothing of the server\'s environment, not even at its pid 1', async () => {
  const res = await platform.edge('envapp.localhost');
  assert.equal(res.status, 200, res.text);
  const { own, pid1 } = JSON.parse(res.text) as { own: Record<string, string>; pid1: string[] };
  assert.equal(own.PORT, '3000', 'control: the app reads its own environment');
  assert.ok(pid1.length > 0, 'control: pid 1\'s environment is readable');
  for (const entry of [...Object.entries(own).map(([k, v]) => `${k}=${v}`), ...pid1]) {
    assert.ok(!entry.includes(MARKER) && !entry.includes(repoRoot) && !entry.includes(platform.home), `leaked into the instance: ${entry}`);
  }
  // Whatever directory Slipway's agent runs in is none of the app's business.
  assert.deepEqual(pid1.filter((e) => /^(OLD)?PWD=/.test(e)), [], 'pid 1 carries no working directory of the host');
});

test('a build cannot see another Slipway home\'s build trees', async () => {
  const out = await buildOutput(`pwd; ls -A .; echo ---; ls -A /var/tmp; echo ---; cat ${OTHER_HOME_WORK}/ver_other/secret.txt || echo unreadable`);
  const [own, varTmp, secret] = out.split('---\n');
  assert.match(own ?? '', /x\.txt/, `control: the build lists its own tree (${out})`);
  assert.ok(!varTmp?.includes('slipway-work-'), `other homes' work dirs are visible: ${varTmp}`);
  assert.ok(!secret?.includes(SECRET), 'another home\'s build file is readable');
});
