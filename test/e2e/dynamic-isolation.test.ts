// What an isolated instance cannot do, tried from inside a real sandbox: read another app's
// release, Slipway's credentials or /root; reach another instance, Slipway's API, the edge or
// a host service on loopback or 0.0.0.0; leave the machine. And what its limits do: over
// memory_mb the kernel kills it (reported as oom_killed) and it is restarted, a fork bomb stops
// at pids_max, a disk filler gets ENOSPC at disk_mb; other apps and the host carry on.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { isSlipwayApiError, type PublishSetting, type RuntimeInstance } from '../../src/sdk/index.js';
import { runCommand } from '../../src/util/child-process.js';
import { waitFor } from '../../src/util/wait-for.js';
import { runtimeLeftovers, startIsolatedPlatform } from '../support/isolated-platform.js';
import type { Platform } from '../support/platform.js';

let platform: Platform;
let label: string;
const hostServers: Server[] = [];

/**
 * A: tries what it is given from inside its sandbox and reports each outcome. `/probe?q=` takes
 * a JSON list of `{ read: path }` and `{ connect: "host:port" }`; all run at once, a connect
 * that gets no answer within 1.5 s is `ETIMEDOUT` (what a dropped packet looks like).
 */
const PROBER_JS = `
const http = require('node:http');
const net = require('node:net');
const fs = require('node:fs');
function tryRead(path) {
  try { return { ok: true, text: fs.readFileSync(path, 'utf8').slice(0, 200) }; } catch (e) { return { ok: false, code: e.code }; }
}
function tryConnect(target) {
  const i = target.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = net.connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
    const done = (r) => { clearTimeout(t); s.destroy(); resolve(r); };
    const t = setTimeout(() => done({ ok: false, code: 'ETIMEDOUT' }), 1500);
    s.once('connect', () => done({ ok: true }));
    s.once('error', (e) => done({ ok: false, code: e.code }));
  });
}
http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  let out = { app: 'prober', uid: process.getuid() };
  if (url.pathname === '/probe') {
    const probes = JSON.parse(url.searchParams.get('q'));
    out = await Promise.all(probes.map((p) => p.read !== undefined ? tryRead(p.read) : tryConnect(p.connect)));
  }
  if (url.pathname === '/fds') {
    // Descriptors this process got from whoever started it (Node's own are close-on-exec).
    const fs = require('node:fs');
    out = fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => fd > 2 && fs.existsSync('/proc/self/fdinfo/' + fd)
      && (parseInt(/flags:\\s+([0-7]+)/.exec(fs.readFileSync('/proc/self/fdinfo/' + fd, 'utf8'))[1], 8) & 0o2000000) === 0);
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(out));
}).listen(Number(process.env.PORT));
`;

/** B: the neighbour whose files and address A goes after. */
const VICTIM_JS = `
require('node:http').createServer((req, res) => res.end('victim ok')).listen(Number(process.env.PORT));
`;
const VICTIM_SECRET = 'victim-secret-7f3a';

/** Grows its memory without bound once asked to (filled buffers, so pages are really used). */
const OOM_JS = `
const boot = require('node:crypto').randomUUID();
const chunks = [];
require('node:http').createServer((req, res) => {
  if (req.url === '/grow') {
    res.end('growing');
    const grow = () => { for (let i = 0; i < 4; i++) chunks.push(Buffer.alloc(4 << 20, 1)); setImmediate(grow); };
    setImmediate(grow);
    return;
  }
  res.end('oom-app ' + boot);
}).listen(Number(process.env.PORT));
`;

/**
 * Spawns sleepers until spawning fails (holding them until /unfork), and fills /tmp until a
 * write fails; both report what happened as JSON.
 */
const HOG_JS = `
const http = require('node:http');
const fs = require('node:fs');
const { spawn } = require('node:child_process');
// Start libuv's thread pool now: it must not need new threads once the pids limit is reached.
fs.readFile(__filename, () => {});
let kids = [];
function spawnOne() {
  return new Promise((resolve) => {
    let child;
    try { child = spawn('/bin/sleep', ['300'], { stdio: 'ignore' }); } catch (e) { return resolve(e.code || String(e)); }
    child.once('spawn', () => { kids.push(child); resolve(null); });
    child.once('error', (e) => resolve(e.code || String(e)));
  });
}
http.createServer(async (req, res) => {
  let out = { app: 'hog' };
  if (req.url === '/fork') {
    let error = null;
    for (let i = 0; i < 1000 && error === null; i++) error = await spawnOne();
    out = { spawned: kids.length, error };
  } else if (req.url === '/unfork') {
    for (const k of kids) k.kill('SIGKILL');
    out = { killed: kids.length };
    kids = [];
  } else if (req.url === '/fill') {
    let written = 0, error = null;
    const chunk = Buffer.alloc(1 << 20, 120);
    const fd = fs.openSync('/tmp/fill', 'w');
    try { while (written < (256 << 20)) written += fs.writeSync(fd, chunk); } catch (e) { error = e.code; }
    fs.closeSync(fd);
    fs.unlinkSync('/tmp/fill');
    out = { written, error };
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(out));
}).listen(Number(process.env.PORT));
`;

const FAST: Partial<Record<PublishSetting, number>> = {
  health_grace_period_ms: 15_000, health_interval_ms: 200, health_timeout_ms: 1000, health_unhealthy_threshold: 2, drain_timeout_ms: 2000,
};

async function publishApp(slug: string, files: Record<string, string>, settings: Partial<Record<PublishSetting, number>> = {}) {
  await platform.client.createDeployment({ slug }).catch((err: unknown) => {
    if (!isSlipwayApiError(err) || err.code !== 'deployment_exists') throw err;
  });
  const result = await platform.client.publish(slug, { files }, { wait: true, runCommand: 'node server.js', port: 3000, settings: { ...FAST, ...settings } });
  const log = await platform.client.getBuildLog(slug, result.version.version_number).catch(() => '');
  assert.equal(result.version.state, 'ready', `${slug}: ${JSON.stringify(result.version.error)}\n${log}`);
  return result;
}

before(async () => {
  ({ platform, label } = await startIsolatedPlatform());
  await Promise.all([
    publishApp('prober', { 'server.js': PROBER_JS }),
    publishApp('victim', { 'server.js': VICTIM_JS, 'secret.txt': VICTIM_SECRET }),
    publishApp('oom', { 'server.js': OOM_JS }, { memory_mb: 64 }),
    publishApp('hog', { 'server.js': HOG_JS }, { pids_max: 64, disk_mb: 16 }),
  ]);
});
after(async () => {
  for (const s of hostServers) await new Promise((r) => s.close(r));
  await platform?.stop();
  if (label) assert.deepEqual(await runtimeLeftovers(label), [], 'stopping the platform removes every netns, veth, nft table and cgroup');
});

async function get(slug: string, path = '/'): Promise<string> {
  const res = await platform.edge(`${slug}.localhost`, path);
  assert.equal(res.status, 200, `GET ${path} on ${slug}: ${res.status} ${res.text}`);
  return res.text;
}

async function liveInstance(slug: string): Promise<RuntimeInstance> {
  const live = (await platform.client.listInstances(slug)).filter((i) => i.desired === 'running');
  assert.equal(live.length, 1, JSON.stringify(live));
  return live[0]!;
}

/** The victim answers through the edge, from the same instance as at the start. */
async function assertVictimServes(): Promise<void> {
  assert.equal(await get('victim'), 'victim ok');
  const victim = await liveInstance('victim');
  assert.equal(victim.state, 'healthy');
  assert.equal(victim.restart_count, 0, 'the victim was never restarted');
}

/** A host TCP listener that counts the connections it accepts. */
async function hostListener(host: string): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((s) => {
    accepted++;
    s.destroy();
  });
  hostServers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { port: (server.address() as AddressInfo).port, accepted: () => accepted };
}

function hostConnects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

type Probe = { read: string } | { connect: string };
type Outcome = { ok: boolean; code?: string; text?: string };

async function probe(probes: Probe[]): Promise<Outcome[]> {
  return JSON.parse(await get('prober', `/probe?q=${encodeURIComponent(JSON.stringify(probes))}`)) as Outcome[];
}

test('the agent runs instances isolated: own address on a /30, an unprivileged uid', async () => {
  const prober = await liveInstance('prober');
  assert.match(prober.address ?? '', /^10\.\d+\.\d+\.\d+:3000$/);
  const who = JSON.parse(await get('prober')) as { uid: number };
  assert.ok(who.uid >= 100_000, `instance uid ${who.uid}`);
  // Limits hold here, so nothing says otherwise (the no-cgroups e2e proves the opposite case).
  assert.equal(prober.limits_enforced, true);
  assert.deepEqual((await platform.client.getDeployment('prober')).warnings, []);
});

test('no descriptor of Slipway\'s processes leaks into the sandbox', async () => {
  assert.deepEqual(JSON.parse(await get('prober', '/fds')), [], 'the app holds only its stdio');
});

test('from inside the sandbox, no file of another app, of Slipway or of root can be read', async () => {
  const victim = await platform.client.getVersion('victim', 1);
  const prober = await platform.client.getVersion('prober', 1);
  const victimFile = join(platform.home, 'agent', 'releases', victim.artifact_sha256!, 'secret.txt');
  assert.equal(await readFile(victimFile, 'utf8'), VICTIM_SECRET, 'the path the prober tries is where the victim\'s release really is');
  const targets = [
    victimFile,
    join(platform.home, 'agent', 'releases', prober.artifact_sha256!, 'server.js'),
    join(platform.home, 'credentials.json'),
    join(platform.home, 'internal-token'),
    '/root/.bashrc',
    '/root',
    '/etc/shadow',
    `/sys/fs/cgroup/memory/slipway/${label}`,
  ];
  assert.ok(existsSync(join(platform.home, 'credentials.json')));
  const [own, ...outcomes] = await probe([{ read: '/app/server.js' }, ...targets.map((read) => ({ read }))]);
  assert.equal(own?.ok, true, `control: the app reads its own release at /app (${JSON.stringify(own)})`);
  outcomes.forEach((o, i) => assert.equal(o.ok, false, `${targets[i]} must be unreadable, got ${JSON.stringify(o)}`));
  assert.ok(outcomes.every((o) => !o.text?.includes(VICTIM_SECRET)));
  await assertVictimServes();
});

test('from inside the sandbox, nothing on the host or in other instances can be reached', async () => {
  const prober = await liveInstance('prober');
  const victim = await liveInstance('victim');
  const ownIp = prober.address!.slice(0, prober.address!.lastIndexOf(':'));
  const octets = ownIp.split('.').map(Number);
  const hostSide = [...octets.slice(0, 3), octets[3]! - 1].join('.');
  const loopbackOnly = await hostListener('127.0.0.1');
  const anyAddress = await hostListener('0.0.0.0');
  // Controls from the host: the 0.0.0.0 listener really is on the veth's host address.
  assert.equal(await hostConnects(hostSide, anyAddress.port), true, `the host reaches ${hostSide}:${anyAddress.port}`);
  assert.equal(await hostConnects('127.0.0.1', loopbackOnly.port), true);
  const acceptedByControls = anyAddress.accepted() + loopbackOnly.accepted();
  const targets = [
    victim.address!,
    `127.0.0.1:${platform.apiPort}`,
    `${hostSide}:${platform.apiPort}`,
    `${hostSide}:${platform.httpPort}`,
    `127.0.0.1:${loopbackOnly.port}`,
    `${hostSide}:${loopbackOnly.port}`,
    `127.0.0.1:${anyAddress.port}`,
    `${hostSide}:${anyAddress.port}`,
    '1.1.1.1:53',
    '8.8.8.8:443',
  ];
  const [own, ...outcomes] = await probe([{ connect: `127.0.0.1:3000` }, ...targets.map((connect) => ({ connect }))]);
  assert.equal(own?.ok, true, `control: the app reaches its own port on its loopback (${JSON.stringify(own)})`);
  outcomes.forEach((o, i) => assert.equal(o.ok, false, `${targets[i]} must be unreachable from the sandbox, got ${JSON.stringify(o)}`));
  assert.equal(anyAddress.accepted() + loopbackOnly.accepted(), acceptedByControls, 'no connection from the instance reached a host listener');
  await assertVictimServes();
});

test('over memory_mb the kernel kills the app (oom_killed), the agent restarts it and it serves again', async () => {
  const before = await liveInstance('oom');
  assert.equal(before.state, 'healthy');
  const servedBy = await get('oom');
  assert.equal(await get('oom', '/grow'), 'growing');
  await waitFor(async () => {
    const now = await liveInstance('oom');
    return now.restart_count === before.restart_count + 1 && now.state === 'healthy';
  }, { timeoutMs: 30_000, intervalMs: 100, description: 'the oom-killed app restarted and healthy' });
  const after = await liveInstance('oom');
  assert.equal(after.id, before.id, 'restarted in place, not replaced');
  const answer = await get('oom');
  assert.match(answer, /^oom-app [0-9a-f-]{36}$/);
  assert.notEqual(answer, servedBy, 'a new process answers');
  const events = (await platform.client.listEvents('oom', { limit: 100 })).data;
  const restart = events.find((e) => e.type === 'instance.starting' && e.data.runtime_instance_id === before.id && e.data.code === 'oom_killed');
  assert.ok(restart, `an instance.starting event with code oom_killed: ${JSON.stringify(events.map((e) => [e.type, e.reason, e.data.code]))}`);
  assert.match(restart.reason ?? '', /more than 64 MB of memory; restarting now/, 'a first failure after a healthy run restarts at once');
  await assertVictimServes();
});

test('a fork bomb stops at pids_max; other apps keep serving and the host can still spawn', async () => {
  const hog = await liveInstance('hog');
  const pidsDir = `/sys/fs/cgroup/pids/slipway/${label}/${hog.id}`;
  assert.equal((await readFile(join(pidsDir, 'pids.max'), 'utf8')).trim(), '64');
  try {
    const bomb = JSON.parse(await get('hog', '/fork')) as { spawned: number; error: string | null };
    assert.equal(bomb.error, 'EAGAIN', `spawning ends with EAGAIN: ${JSON.stringify(bomb)}`);
    assert.ok(bomb.spawned > 10 && bomb.spawned < 64, `spawned ${bomb.spawned} sleepers before the limit`);
    // While the sleepers are still held:
    const current = Number((await readFile(join(pidsDir, 'pids.current'), 'utf8')).trim());
    assert.ok(current <= 64 && current > bomb.spawned, `pids.current ${current}`);
    assert.match(await readFile(join(pidsDir, 'pids.events'), 'utf8'), /^max [1-9]\d*$/m, 'the kernel refused forks at the limit');
    const host = await runCommand(['/bin/sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do /bin/true & done; wait; echo spawned'], { timeoutMs: 10_000 });
    assert.equal(host.stdout.trim(), 'spawned', 'the host still spawns processes');
    await assertVictimServes();
    assert.equal(JSON.parse(await get('hog')).app, 'hog', 'the bomber itself still answers');
  } finally {
    const unfork = JSON.parse(await get('hog', '/unfork')) as { killed: number };
    assert.ok(unfork.killed > 0);
  }
  await waitFor(async () => Number((await readFile(join(pidsDir, 'pids.current'), 'utf8')).trim()) < 32,
    { timeoutMs: 10_000, description: 'the sleepers gone' });
  assert.equal((await liveInstance('hog')).restart_count, 0, 'the bomb did not crash the app');
});

test('a disk filler gets ENOSPC at disk_mb in its /tmp; other apps keep serving', async () => {
  const fill = JSON.parse(await get('hog', '/fill')) as { written: number; error: string | null };
  assert.equal(fill.error, 'ENOSPC', JSON.stringify(fill));
  const mb = fill.written / (1 << 20);
  assert.ok(mb >= 8 && mb <= 16, `wrote ${mb} MB into a 16 MB /tmp`);
  await assertVictimServes();
  assert.equal(JSON.parse(await get('hog')).app, 'hog');
  assert.equal((await liveInstance('hog')).restart_count, 0);
});
