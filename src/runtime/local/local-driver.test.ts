import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { hostProbe, LOCAL_DRIVER_MODES, localLeftovers, uniqueNames } from '../../../test/support/local-driver-modes.js';
import { DEFAULT_RESOURCES, type ResourceSpec } from '../../core/runtime.js';
import { runCommand } from '../../util/child-process.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import type { StartInstanceSpec } from '../runtime-driver.js';
import { createLocalDriver, type LocalDriver, type LocalDriverOptions } from './local-driver.js';

// What only the local driver does (its modes' capabilities, the sandbox's walls, cgroup pids
// limits, old handles); the behaviour every driver shares is
// test/support/runtime/runtime-driver.conformance.ts, run for each mode by
// local-driver.conformance.test.ts. One label and one /16 per run, so parallel
// runs (and a real platform) never share names, and the leftover checks can be exact.
const { run, subnet } = uniqueNames('t');

const SERVER_JS = `require('node:http').createServer((q, s) => s.end('hello')).listen(Number(process.env.PORT), () => console.log('listening'));\n`;
const BOMB_SH = `i=0\nwhile [ $i -lt 200 ]; do sleep 30 & i=$((i+1)); done\necho "spawned $i"\n`;
const PROBE_JS = `
const fs = require('node:fs'), net = require('node:net'), os = require('node:os');
const read = (p) => { try { fs.readFileSync(p); return 'read'; } catch (e) { return e.code; } };
const write = (p) => { try { fs.writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };
const connect = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port: Number(port) });
  const t = setTimeout(() => { s.destroy(); resolve('timeout'); }, 1500);
  s.once('connect', () => { clearTimeout(t); s.destroy(); resolve('connected'); });
  s.once('error', (e) => { clearTimeout(t); resolve(e.code); });
});
(async () => {
  const own = os.networkInterfaces().eth0.find((a) => a.family === 'IPv4').address;
  const peer = own.replace(/\\d+$/, (n) => String(Number(n) - 1));
  const [otherHost, otherPort] = process.env.PROBE_OTHER.split(':');
  const r = {
    uid: process.getuid(),
    capEff: /CapEff:\\s*(\\w+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1],
    stateFile: read(process.env.PROBE_STATE_FILE),
    otherFile: read(process.env.PROBE_OTHER_FILE),
    rootHome: read('/root/.profile'),
    writeApp: write('/app/owned'),
    loopback: await connect('127.0.0.1', process.env.PROBE_LOOPBACK_PORT),
    hostPeer: await connect(peer, process.env.PROBE_ANY_PORT),
    otherInstance: await connect(otherHost, otherPort),
  };
  console.log('PROBE ' + JSON.stringify(r));
  setInterval(() => {}, 1000);
})();
`;

interface Fixture {
  root: string;
  appDir: string;
  stateDir: string;
  otherDir: string;
}

async function makeFixture(): Promise<Fixture> {
  const root = await makeTempDir('local-driver-test-');
  const f = { root, appDir: join(root, 'app'), stateDir: join(root, 'state'), otherDir: join(root, 'other') };
  for (const dir of [f.appDir, f.stateDir, f.otherDir]) await mkdir(dir, { recursive: true });
  await writeFile(join(f.appDir, 'server.js'), SERVER_JS);
  await writeFile(join(f.appDir, 'probe.js'), PROBE_JS);
  await writeFile(join(f.appDir, 'bomb.sh'), BOMB_SH);
  await writeFile(join(f.stateDir, 'secret.json'), '{"secret":true}');
  await writeFile(join(f.otherDir, 'secret.txt'), 'other app');
  return f;
}

const logOf = (f: Fixture, id: string): string => join(f.root, 'logs', `${id}.log`);

function spec(f: Fixture, id: string, extra: { run: string; env?: Record<string, string>; resources?: Partial<ResourceSpec> }): StartInstanceSpec {
  return {
    id, release: { kind: 'tree', appDir: f.appDir }, runCommand: extra.run, port: 3000,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', ...extra.env },
    resources: { ...DEFAULT_RESOURCES, ...extra.resources },
    logPath: logOf(f, id),
  };
}

/** The edge's path: an HTTP request from the host to the handle's address. */
function httpStatus(address: string): Promise<number> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

const answers = (address: string): Promise<boolean> =>
  waitFor(async () => (await httpStatus(address)) === 200, { timeoutMs: 10_000, description: `HTTP 200 from ${address}` });

function listen(host: string): Promise<{ server: Server; port: number; hits: () => number }> {
  let hits = 0;
  const server = createServer((_q, s) => s.end('host'));
  server.on('connection', () => hits++);
  return new Promise((resolve) => server.listen(0, host, () => {
    const a = server.address();
    resolve({ server, port: typeof a === 'object' && a ? a.port : 0, hits: () => hits });
  }));
}

for (const mode of LOCAL_DRIVER_MODES) {
  describe(`local driver (${mode.name})`, { skip: mode.skip }, () => {
    let f: Fixture;
    let options: LocalDriverOptions;
    let driver: LocalDriver;
    const { isolated, limited } = mode;
    const label = `${run}${mode.isolated ? (mode.limited ? 'i' : 'c') : 'n'}`;

    before(async () => {
      f = await makeFixture();
      options = { stateDir: f.stateDir, uidBase: 460_000, subnet, label, isolation: mode.isolation, cgroupRoot: mode.cgroupRoot };
      driver = createLocalDriver(options);
      await driver.prepare();
    });
    after(async () => {
      try {
        await driver?.destroyAll();
        if (hostProbe.available) assert.deepEqual(await localLeftovers(label, subnet), []);
      } finally {
        if (f) await removeDir(f.root);
      }
    });

    test('capabilities match the mode', () => {
      assert.equal(driver.capabilities.isolatedNetwork, isolated);
      assert.equal(driver.capabilities.sandboxedFilesystem, isolated);
      assert.equal(driver.capabilities.resourceLimits, limited);
      assert.equal(driver.capabilities.resourceLimitsReason === null, limited);
      if (isolated && !limited) assert.match(driver.capabilities.resourceLimitsReason ?? '', /no cgroup v2 hierarchy at \/nonexistent\/cgroup/);
      assert.equal(driver.capabilities.ownUser, isolated);
      assert.equal(driver.capabilities.containerImages, false);
      assert.equal(driver.fallbackReason === null, isolated);
      if (limited) assert.notEqual(driver.cgroupVersion, 'none');
      else assert.equal(driver.cgroupVersion, 'none');
      // npm run test:vm boots a cgroup v2 kernel so that the v2 code meets a real one.
      if (limited && process.env.SLIPWAY_TEST_VM === '1') assert.equal(driver.cgroupVersion, 'v2');
      assert.equal(driver.refusal, null);
    });

    test('stop frees the namespace, interfaces and cgroups of an instance', async () => {
      const h = await driver.start(spec(f, 'rti_serve', { run: 'exec node server.js' }));
      if (isolated) assert.match(h.address, /^10\.\d+\.\d+\.\d+:3000$/);
      else assert.match(h.address, /^127\.0\.0\.1:\d+$/);
      assert.equal(Number(h.address.slice(h.address.lastIndexOf(':') + 1)), h.port);
      assert.ok(await answers(h.address));
      await driver.stop(h, 2000);
      assert.deepEqual(await driver.list(), []);
      if (isolated) {
        assert.equal(existsSync(`/run/netns/${String(h.data.ns)}`), false, 'netns removed');
        assert.equal(existsSync(`/sys/class/net/${String(h.data.veth)}`), false, 'veth removed');
        for (const dir of h.data.cgroups as string[]) assert.equal(existsSync(dir), false, `${dir} removed`);
      }
    });

    test('a handle saved before pids moved into data is still re-adopted and stopped', async () => {
      const h = await driver.start(spec(f, 'rti_oldhandle', { run: 'exec node server.js' }));
      assert.ok(await answers(h.address));
      // The shape an older agent wrote: pid at the top, no port.
      const { pid, ...data } = h.data;
      await writeFile(join(options.stateDir, `${h.id}.json`), `${JSON.stringify({ id: h.id, pid, address: h.address, startedAt: h.startedAt, data })}\n`);
      const next = createLocalDriver(options);
      const [adopted] = await next.list();
      assert.deepEqual(adopted, h);
      assert.ok(await next.isRunning(adopted!));
      await next.stop(adopted!, 2000);
      assert.equal(await driver.isRunning(h), false);
    });

    if (!isolated) return;

    test('an instance reaches no file, host service or other instance, and runs as its own uid without capabilities', async () => {
      const loop = await listen('127.0.0.1');
      const any = await listen('0.0.0.0');
      try {
        const other = await driver.start(spec(f, 'rti_target', { run: 'exec node server.js' }));
        assert.ok(await answers(other.address));
        const h = await driver.start(spec(f, 'rti_probe', {
          run: 'exec node probe.js',
          env: {
            PROBE_STATE_FILE: join(f.stateDir, 'secret.json'), PROBE_OTHER_FILE: join(f.otherDir, 'secret.txt'),
            PROBE_LOOPBACK_PORT: String(loop.port), PROBE_ANY_PORT: String(any.port), PROBE_OTHER: other.address,
          },
        }));
        const logPath = logOf(f, 'rti_probe');
        const line = await waitFor(async () => /^PROBE (.*)$/m.exec(await readFile(logPath, 'utf8').catch(() => ''))?.[1], {
          timeoutMs: 15_000, description: 'probe results',
        });
        const r = JSON.parse(line) as Record<string, unknown>;
        assert.equal(r.uid, h.data.uid);
        assert.notEqual(r.uid, 0);
        assert.equal(r.capEff, '0000000000000000');
        assert.equal(r.stateFile, 'ENOENT');
        assert.equal(r.otherFile, 'ENOENT');
        assert.equal(r.rootHome, 'ENOENT');
        assert.equal(r.writeApp, 'EROFS');
        assert.equal(r.loopback, 'ECONNREFUSED', 'host loopback is not the instance loopback');
        assert.equal(r.hostPeer, 'timeout', 'host services on 0.0.0.0 are dropped');
        assert.equal(r.otherInstance, 'ENETUNREACH', 'no route to other instances');
        assert.equal(any.hits(), 0);
        assert.equal(loop.hits(), 0);
        assert.ok(await answers(other.address), 'the edge still reaches instances');
        await driver.stop(h, 1000);
        await driver.stop(other, 1000);
      } finally {
        loop.server.close();
        any.server.close();
      }
    });

    if (!limited) return;

    test('a fork loop stops at pids_max and the host is fine', async () => {
      const h = await driver.start(spec(f, 'rti_bomb', { run: 'exec /bin/sh bomb.sh', resources: { pids_max: 32 } }));
      const logPath = logOf(f, 'rti_bomb');
      const log = await waitFor(async () => {
        const text = await readFile(logPath, 'utf8').catch(() => '');
        return /fork/i.test(text) ? text : null;
      }, { timeoutMs: 20_000, description: 'the fork loop to hit the limit' });
      assert.doesNotMatch(log, /spawned 200/);
      // v1 has a group per controller; v2 one unified group holding every controller's files.
      const groups = h.data.cgroups as string[];
      const pidsDir = driver.cgroupVersion === 'v1' ? groups.find((d) => d.includes('/pids/')) : groups[0];
      assert.ok(pidsDir, `a pids group among ${groups.join(', ')}`);
      assert.ok(Number(await readFile(join(pidsDir, 'pids.current'), 'utf8')) <= 32);
      assert.equal((await runCommand(['/bin/true'])).exitCode, 0);
      // The shell gave up, but the sleeps it forked are still the instance's: stop ends them all.
      assert.ok(await driver.isRunning(h));
      await driver.stop(h, 500);
      assert.equal(await driver.isRunning(h), false);
    });
  });
}
