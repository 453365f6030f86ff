import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { DEFAULT_RESOURCES } from '../../core/runtime.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import { dockerSkipReason } from '../../../test/support/docker-engine.js';
import { startDockerDriverFixture, type DockerDriverFixture } from '../../../test/support/docker-driver-fixture.js';
import { NODE_IMAGE_PATH, nodeAppImage } from '../../../test/support/node-image.js';
import { answers } from '../../../test/support/runtime/runtime-driver.conformance.js';
import type { InstanceHandle, InstanceRelease, StartInstanceSpec } from '../runtime-driver.js';
import { existsSync } from 'node:fs';
import { runCommand } from '../../util/child-process.js';
import { dockerData, HANDLE_LABELS } from './container-handles.js';
import { parseSubnet16, slotNet } from '../local/instance-net.js';
import { INSTANCE_LABEL } from './container-spec.js';
import { OWNER_LABEL } from './engine.js';

const skip = dockerSkipReason() ?? false;

const APPS: Record<string, string> = {
  // Tries the host's side of its veth (where a host service listens on every address) and, as a
  // control, a server of its own, so a refusal is a real refusal and not a broken probe.
  'probe.js': `const net = require('node:net'), os = require('node:os');
const attempt = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port });
  const t = setTimeout(() => { s.destroy(); resolve('TIMEOUT'); }, 1500);
  s.once('connect', () => { clearTimeout(t); s.destroy(); resolve('CONNECTED'); });
  s.once('error', (e) => { clearTimeout(t); resolve('ERR ' + e.code); });
});
const eth0 = () => (os.networkInterfaces().eth0 ?? []).find((a) => a.family === 'IPv4');
const own = net.createServer((c) => c.end()).listen(0, async () => {
  while (!eth0()) await new Promise((r) => setTimeout(r, 20));
  const hostIp = eth0().address.replace(/\\.(\\d+)$/, (m, n) => '.' + (Number(n) - 1));
  console.log('CONTROL ' + await attempt(eth0().address, own.address().port));
  console.log('HOST ' + hostIp + ' ' + await attempt(hostIp, Number(process.env.HOST_PORT)));
  require('node:http').createServer((q, s) => s.end('probed')).listen(Number(process.env.PORT));
});\n`,
  'ticker.js': `let n = 0; setInterval(() => console.log('TICK ' + n++), 40);\n`,
  // Tries a connection to the host and port a request names, from inside the container, and
  // answers with what happened; /v6 lists eth0's IPv6 addresses.
  'prober.js': `const net = require('node:net'), os = require('node:os');
const attempt = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port });
  const t = setTimeout(() => { s.destroy(); resolve('TIMEOUT'); }, 1500);
  s.once('connect', () => { clearTimeout(t); s.destroy(); resolve('CONNECTED'); });
  s.once('error', (e) => { clearTimeout(t); resolve('ERR ' + e.code); });
});
require('node:http').createServer(async (q, s) => {
  const u = new URL(q.url, 'http://x');
  if (u.pathname === '/v6') return s.end((os.networkInterfaces().eth0 ?? []).filter((a) => a.family === 'IPv6').map((a) => a.address).join(' '));
  s.end(await attempt(u.searchParams.get('host'), Number(u.searchParams.get('port'))));
}).listen(Number(process.env.PORT));\n`,
};

let fixture: DockerDriverFixture;
let root: string;
let release: InstanceRelease;
const logOf = (id: string): string => join(root, 'logs', `${id}.log`);
const log = (id: string): Promise<string> => readFile(logOf(id), 'utf8').catch(() => '');
const logMatch = (id: string, re: RegExp): Promise<RegExpExecArray> =>
  waitFor(async () => re.exec(await log(id)), { timeoutMs: 15_000, description: `${re} in the output of ${id}` });
const spec = (id: string, runCommand: string, extra: Partial<StartInstanceSpec> = {}): StartInstanceSpec => ({
  id, release, runCommand, port: 3000, env: { PATH: NODE_IMAGE_PATH }, resources: DEFAULT_RESOURCES, logPath: logOf(id), ...extra,
});

before(async () => {
  if (skip) return;
  root = await makeTempDir('docker-driver-test-');
  const appDir = join(root, 'app');
  await mkdir(appDir);
  for (const [file, body] of Object.entries(APPS)) await writeFile(join(appDir, file), body);
  fixture = await startDockerDriverFixture();
  release = { kind: 'image', image: await nodeAppImage(fixture.api, appDir, { ref: 'slipway-test/driver:1' }) };
});
after(async () => {
  try {
    await fixture?.cleanup();
  } finally {
    if (root) await removeDir(root);
  }
});

test('an image whose user is root runs as 65534; a non-root user it names is kept; a file tree is refused', { skip }, async () => {
  const { api, driver } = fixture;
  const asRoot = await nodeAppImage(api, join(root, 'app'), { ref: 'slipway-test/driver-root:1', changes: ['USER root'] });
  const asApp = await nodeAppImage(api, join(root, 'app'), { ref: 'slipway-test/driver-app:1', changes: ['USER app'] });
  for (const [id, image, uid] of [['rti_root', asRoot, '65534'], ['rti_app', asApp, '10001']] as const) {
    const h = await driver.start(spec(id, 'id -u; id -g', { release: { kind: 'image', image } }));
    await waitFor(async () => !(await driver.isRunning(h)), { description: `${id} to exit` });
    assert.equal((await log(id)).split('\n')[0], uid, id);
    await driver.remove(h);
  }
  await assert.rejects(driver.start(spec('rti_tree', 'true', { release: { kind: 'tree', appDir: root } })),
    (err: Error & { code?: string }) => err.code === 'unavailable');
  assert.deepEqual(await driver.list(), []);
});

test('an instance answers the edge but cannot open a connection to the host', { skip }, async () => {
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  // Every host address, the veth's own among them: the firewall, not the bind address, must stop it.
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    const h = await fixture.driver.start(spec('rti_probe', 'exec node probe.js', { env: { PATH: NODE_IMAGE_PATH, HOST_PORT: String(port) } }));
    try {
      await logMatch(h.id, /CONTROL CONNECTED/);
      const [, hostIp, outcome] = (await logMatch(h.id, /HOST (\S+) (.+)/)) as unknown as [string, string, string];
      assert.equal(`${hostIp}`, h.address.replace(/\.(\d+):\d+$/, (_m, n: string) => `.${Number(n) - 1}`), 'probed the host side of its own veth');
      assert.notEqual(outcome, 'CONNECTED');
      assert.equal(accepted, 0, 'the host service saw no connection');
      assert.equal(await answers(h.address), 'probed', 'the edge still reaches the app');
    } finally {
      await fixture.driver.stop(h, 1000);
    }
  } finally {
    server.close();
  }
});

test('a re-adopting driver resumes copying the output where the last one stopped, losing and doubling nothing', { skip }, async () => {
  const first = fixture.open();
  const h = await first.start(spec('rti_ticks', 'exec node ticker.js'));
  await logMatch(h.id, /TICK 5\n/);
  // The agent goes away: nothing copies while the app keeps printing into the engine.
  first.close();
  const containerId = dockerData(h)?.containerId as string;
  await waitFor(async () => {
    const stream = await fixture.api.stream({ method: 'GET', path: `/containers/${containerId}/logs`, query: { stdout: true, tail: '1' } });
    const last = /TICK (\d+)/.exec(await text(stream));
    return Number(last?.[1] ?? 0) >= 30;
  }, { description: 'the app to print on while no copier runs' });
  const copiedBefore = (await log(h.id)).split('\n').length;

  const next = fixture.open();
  const [adopted] = await next.list();
  assert.equal(adopted?.id, h.id);
  await logMatch(h.id, /TICK 50\n/);
  await next.stop(adopted!, 1000);
  next.close();

  const ticks = (await log(h.id)).trim().split('\n');
  assert.ok(copiedBefore < 30, `the first copier stopped early (${copiedBefore} lines)`);
  assert.deepEqual(ticks, ticks.map((_line, i) => `TICK ${i}`), 'every line once, in order');
});

test("containers forged with the driver's labels are not adopted, and list() still gives every real instance", { skip }, async () => {
  const { api, label } = fixture;
  const real = await fixture.driver.start(spec('rti_real', 'exec node ticker.js'));
  const labels = (id: string, extra: Record<string, string> = {}): Record<string, string> => ({
    [OWNER_LABEL]: 'true', [HANDLE_LABELS.driver]: label, [INSTANCE_LABEL]: id, [HANDLE_LABELS.slot]: '5',
    [HANDLE_LABELS.port]: '3000', [HANDLE_LABELS.startedAt]: '1', [HANDLE_LABELS.logPath]: logOf(id), ...extra,
  });
  const forged: [string, Record<string, string>][] = [
    // A slot outside the subnet (it used to make list() throw for every app).
    ['slipway-rti_slot', labels('rti_slot', { [HANDLE_LABELS.slot]: '20000' })],
    // A log file the agent never gave (root appends to it).
    ['slipway-rti_log', labels('rti_log', { [HANDLE_LABELS.logPath]: '/etc/rti_log.log' })],
    // A real instance's id on a container that is not its (its name is the probe's, say).
    ['forged-probe', labels('rti_real')],
    // An id that is a path.
    ['slipway-x', labels('../x')],
  ];
  const made: string[] = [];
  try {
    for (const [name, forgedLabels] of forged) {
      const { Id } = await api.json<{ Id: string }>({
        method: 'POST', path: '/containers/create', query: { name },
        json: { Image: (release as { image: string }).image, Cmd: ['true'], Labels: forgedLabels, HostConfig: { NetworkMode: 'none' } },
      });
      made.push(Id);
    }
    const warnings: string[] = [];
    // The agent's log folder, as the agent's driver is given it.
    const next = fixture.open({ logDir: join(root, 'logs'), warn: (line) => warnings.push(line) });
    const listed = await next.list();
    assert.deepEqual(listed.map((h) => [h.id, dockerData(h)?.containerId]), [['rti_real', dockerData(real)?.containerId]]);
    assert.equal(warnings.length, forged.length, warnings.join('\n'));
    next.close();
  } finally {
    for (const id of made) await api.json({ method: 'DELETE', path: `/containers/${id}`, query: { force: true } });
    await fixture.driver.stop(real, 1000);
  }
});

test('a namespace or veth of the label whose slot no container holds (a crashed start) is removed when slots are seeded', { skip }, async () => {
  const { label } = fixture;
  const ns = `${label}-9000`;
  const veth = `${label}v9001`;
  // Neither gets an address: no route is needed to keep them off the network.
  await runCommand(['ip', 'netns', 'add', ns]);
  try {
    await runCommand(['ip', 'link', 'add', veth, 'type', 'veth', 'peer', 'name', `${label}q9001`]);
    const next = fixture.open();
    const h = await next.start(spec('rti_seeded', 'exec node ticker.js'));
    await next.stop(h, 1000);
    next.close();
    assert.equal(existsSync(`/run/netns/${ns}`), false, 'the leftover namespace is still there');
    assert.equal(existsSync(`/sys/class/net/${veth}`), false, 'the leftover veth is still there');
  } finally {
    if (existsSync(`/sys/class/net/${veth}`)) await runCommand(['ip', 'link', 'del', veth]);
    if (existsSync(`/run/netns/${ns}`)) await runCommand(['ip', 'netns', 'del', ns]);
  }
});

/** What the prober instance `h` got when it connected to `host`:`port`. */
async function probeFrom(h: InstanceHandle, host: string, port: number): Promise<string> {
  const response = await fetch(`http://${h.address}/probe?host=${encodeURIComponent(host)}&port=${port}`);
  return response.text();
}

/** A TCP server on `host` that counts and drops what it accepts. */
async function countingServer(host: string): Promise<{ server: Server; port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return { server, port: (server.address() as { port: number }).port, accepted: () => accepted };
}

/** Connects from this (host) process; 'CONNECTED' or the error code. */
function connectFromHost(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => { socket.destroy(); resolve('TIMEOUT'); }, 3000);
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve('CONNECTED'); });
    socket.once('error', (e: Error & { code?: string }) => { clearTimeout(timer); resolve(`ERR ${e.code}`); });
  });
}

/** A non-tentative IPv6 link-local address of `dev` (in namespace `ns`, or the host's). */
async function linkLocal(dev: string, ns?: string): Promise<string> {
  return waitFor(async () => {
    const argv = ns === undefined ? ['ip', '-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'link'] : ['ip', '-netns', ns, '-6', '-o', 'addr', 'show', 'dev', dev, 'scope', 'link'];
    const { stdout } = await runCommand(argv);
    const line = stdout.split('\n').find((l) => /inet6 fe80::/.test(l) && !/tentative/.test(l));
    return line === undefined ? null : /inet6 (fe80::[0-9a-f:]+)\//.exec(line)?.[1] ?? null;
  }, { timeoutMs: 15_000, description: `a link-local address on ${dev}` });
}

test('an instance reaches no other instance, no host address, no host loopback service and not its veth peer over IPv6', { skip }, async () => {
  const { driver, label, subnet } = fixture;
  // One service on every host address (IPv4 and IPv6), one on the host's loopback only.
  const everywhere = await countingServer('::');
  const loopback = await countingServer('127.0.0.1');
  // A host address that is neither the veth's nor the machine's uplink (as the local driver's
  // veths would have): one more address on the host's `lo`, inside the driver's /16, which its
  // blackhole route already covers (prepare() put it there first), so nothing can leave by it.
  const sub = parseSubnet16(subnet);
  const extraIp = `${sub.a}.${sub.b}.255.250`;
  let extraAdded = false;
  const made: InstanceHandle[] = [];
  try {
    const { stdout: covered } = await runCommand(['ip', 'route', 'show', 'type', 'blackhole', 'exact', subnet]);
    assert.match(covered, /blackhole/, 'the driver\'s blackhole route covers the extra address');
    await runCommand(['ip', 'addr', 'add', `${extraIp}/32`, 'dev', 'lo']);
    extraAdded = true;
    // Control: the host service answers on the extra address.
    assert.equal(await connectFromHost(extraIp, everywhere.port), 'CONNECTED');

    const a = await driver.start(spec('rti_iso_a', 'exec node prober.js'));
    made.push(a);
    const b = await driver.start(spec('rti_iso_b', 'exec node prober.js'));
    made.push(b);
    const [aIp, aPort] = a.address.split(':') as [string, string];
    const [bIp, bPort] = b.address.split(':') as [string, string];
    // Controls: the prober connects where it may (its own server, by loopback and by its
    // address), and the host (the edge's place) reaches the other instance.
    // start() returns once the container runs, not once its app listens: wait for both.
    await answers(a.address);
    await answers(b.address);
    assert.equal(await probeFrom(a, '127.0.0.1', Number(aPort)), 'CONNECTED');
    assert.equal(await probeFrom(a, aIp, Number(aPort)), 'CONNECTED');
    assert.equal(await probeFrom(b, bIp, Number(bPort)), 'CONNECTED');

    const net = slotNet(label, sub, dockerData(a)!.slot);
    const blocked = async (why: string): Promise<void> => {
      for (const [host, port] of [[bIp, Number(bPort)], [extraIp, everywhere.port], [net.hostIp, everywhere.port], ['127.0.0.1', loopback.port]] as const) {
        assert.notEqual(await probeFrom(a, host, port), 'CONNECTED', `${why}: ${host}:${port}`);
      }
    };
    // As started: no default route, so only the /30 peer is even routable.
    await blocked('as started');
    // As if the app had a way around that: a default route via the host peer. Now the packets
    // reach the host, and only the firewall (input: drop from the veths; forward: drop) stops them.
    await runCommand(['ip', '-netns', net.ns, 'route', 'add', 'default', 'via', net.hostIp]);
    await blocked('with a default route');

    // IPv6: the host end of the veth gets a link-local address by itself. The engine starts
    // containers with IPv6 off, so first the probe as started, then with IPv6 turned on inside
    // (as a kernel or engine default might have it), where only the firewall stops it.
    const peer = await linkLocal(net.veth);
    assert.notEqual(await probeFrom(a, `${peer}%eth0`, everywhere.port), 'CONNECTED', 'the veth peer over IPv6, as started');
    await runCommand(['ip', 'netns', 'exec', net.ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.eth0.disable_ipv6=0']);
    const own = await linkLocal('eth0', net.ns);
    // Controls: the host service answers on the peer's link-local, and the container has its own.
    assert.equal(await connectFromHost(`${peer}%${net.veth}`, everywhere.port), 'CONNECTED');
    assert.match(await (await fetch(`http://${a.address}/v6`)).text(), new RegExp(own));
    assert.notEqual(await probeFrom(a, `${peer}%eth0`, everywhere.port), 'CONNECTED', 'the veth peer over IPv6 link-local');

    assert.equal(everywhere.accepted(), 2, 'the host service saw only the two controls from the host');
    assert.equal(loopback.accepted(), 0, 'the loopback service saw nothing');
  } finally {
    for (const h of made) await driver.stop(h, 1000);
    if (extraAdded) await runCommand(['ip', 'addr', 'del', `${extraIp}/32`, 'dev', 'lo']);
    everywhere.server.close();
    loopback.server.close();
  }
});
