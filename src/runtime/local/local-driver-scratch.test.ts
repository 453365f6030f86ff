// The local driver's disk-backed /tmp (instance-scratch.ts) on the real isolated engine.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rmdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { DEFAULT_RESOURCES, type ResourceSpec } from '../../core/runtime.js';
import { runCommand } from '../../util/child-process.js';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import type { InstanceHandle, StartInstanceSpec } from '../runtime-driver.js';
import { probeIsolation } from './host-probe.js';
import { createInstanceScratch, probeScratch, scratchImagePath, scratchMountPath, type ScratchTools } from './instance-scratch.js';
import { createLocalDriver, type LocalDriver, type LocalDriverOptions } from './local-driver.js';

// Own label and /16 (local-driver.test.ts draws from 200-250, test platforms from 100-199).
const run = randomBytes(2).toString('hex');
const label = `t${run}s`;
const subnet = `10.${randomInt(50, 100)}.0.0/16`;
const probe = probeIsolation();
const skip = probe.available ? false : `isolated mode needs root, bwrap, nft, ip and setpriv: ${probe.reason}`;

const SERVER_JS = `require('node:http').createServer((q, s) => s.end('hello')).listen(Number(process.env.PORT));\n`;
// Fills /tmp: 200 MB (over its 128 MB of memory), then 100 MB more (past its 256 MB disk), and
// reports both outcomes over HTTP, so an answer also proves it survived.
const SCRATCH_JS = `
const fs = require('node:fs');
const chunk = Buffer.alloc(1 << 20, 7);
const fill = (path, mb) => {
  const fd = fs.openSync(path, 'w');
  let written = 0;
  try {
    while (written < mb << 20) written += fs.writeSync(fd, chunk);
    return { mb: written >> 20, code: null };
  } catch (e) {
    return { mb: written >> 20, code: e.code };
  } finally {
    fs.closeSync(fd);
  }
};
const first = fill('/tmp/first', 200);
const second = fill('/tmp/second', 100);
const body = JSON.stringify({ first, second });
require('node:http').createServer((q, s) => s.end(body)).listen(Number(process.env.PORT));
`;

/** The scratch tools, or a loud failure: these tests must not pass on a tmpfs /tmp. */
function scratchTools(): ScratchTools {
  const p = probeScratch();
  if (!p.available) throw new Error(`scratch filesystems unavailable: ${p.reason}`);
  return p.tools;
}

const mounted = (dir: string): boolean => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

function httpText(address: string): Promise<string> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), path: '/', agent: false, timeout: 1000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('local driver: disk-backed /tmp', { skip }, () => {
  let root: string;
  let appDir: string;
  let scratchDir: string;
  let options: LocalDriverOptions;
  let driver: LocalDriver;

  const logOf = (id: string): string => join(root, 'logs', `${id}.log`);
  const spec = (id: string, runCommand: string, resources: Partial<ResourceSpec> = {}): StartInstanceSpec => ({
    id, release: { kind: 'tree', appDir }, runCommand, port: 3000, env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    resources: { ...DEFAULT_RESOURCES, ...resources }, logPath: logOf(id),
  });

  /** Mounts, loop devices and image files of `of`'s scratch filesystems. */
  async function leftovers(of: string): Promise<string[]> {
    const found = readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(`/run/slipway/${of}/`));
    found.push(...(await runCommand(['losetup', '-a'])).stdout.split('\n').filter((l) => l.includes(`/${of}-`)));
    found.push(...(await readdir(scratchDir).catch(() => [])).filter((n) => n.startsWith(`${of}-`)));
    return found;
  }

  before(async () => {
    root = await makeTempDir('local-driver-scratch-test-');
    appDir = join(root, 'app');
    const stateDir = join(root, 'state');
    scratchDir = join(stateDir, 'scratch');
    await mkdir(appDir, { recursive: true });
    await writeFile(join(appDir, 'server.js'), SERVER_JS);
    await writeFile(join(appDir, 'scratch.js'), SCRATCH_JS);
    options = { stateDir, uidBase: 462_000, subnet, label };
    driver = createLocalDriver(options);
    await driver.prepare();
  });
  after(async () => {
    try {
      await driver?.destroyAll();
      assert.deepEqual(await leftovers(label), []);
      assert.equal(existsSync(`/run/slipway/${label}`), false);
    } finally {
      if (root) await removeDir(root);
    }
  });

  test('200 MB fit in a /tmp of an instance with 128 MB of memory, past disk_mb is ENOSPC, stop leaves nothing', async () => {
    assert.ok(driver.capabilities.resourceLimits, 'memory limits are needed to tell a tmpfs from a disk');
    const h = await driver.start(spec('rti_scratch', 'exec node scratch.js', { memory_mb: 128, disk_mb: 256 }));
    try {
      const text = await waitFor(async () => (await httpText(h.address).catch(() => null)) ?? ((await driver.isRunning(h)) ? null : 'exited'), {
        timeoutMs: 30_000, description: 'the /tmp report',
      });
      assert.notEqual(text, 'exited', `the instance died writing to /tmp: ${JSON.stringify(await driver.exitInfo(h))}`);
      const r = JSON.parse(text) as { first: { mb: number; code: string | null }; second: { mb: number; code: string | null } };
      assert.deepEqual(r.first, { mb: 200, code: null });
      assert.equal(r.second.code, 'ENOSPC');
      assert.ok(r.second.mb < 56, `${r.second.mb} MB more fit in a 256 MB /tmp`);
      assert.ok(await driver.isRunning(h));
      assert.ok(existsSync(scratchImagePath(scratchDir, label, h.id)), 'the image lives in the state dir while the instance runs');
    } finally {
      await driver.stop(h, 1000);
    }
    assert.deepEqual((await leftovers(label)).filter((l) => l.includes(h.id)), [], 'no mount, loop device or image is left');
  });

  test('without loop devices or mkfs.ext4, /tmp falls back to a tmpfs, and the driver says so', async () => {
    const fallback = createLocalDriver({ ...options, scratchProbe: { available: false, reason: 'no loop devices (/dev/loop-control)' } });
    assert.deepEqual(driver.warnings, []);
    assert.match(fallback.warnings.join('\n'), /tmpfs .*no loop devices/);
    const cases = [[driver, 'rti_tmpext4', 'ext4'], [fallback, 'rti_tmptmpfs', 'tmpfs']] as const;
    for (const [d, id, fsType] of cases) {
      const h = await d.start(spec(id, `exec grep ' /tmp ' /proc/self/mounts`));
      await waitFor(async () => !(await d.isRunning(h)), { description: 'exit' });
      assert.match(await readFile(logOf(id), 'utf8'), new RegExp(`^\\S+ /tmp ${fsType} rw,nosuid,nodev`));
      await d.remove(h);
    }
  });

  test('at start, scratch filesystems a killed agent left are removed; a running instance keeps its own', async () => {
    // What an agent killed mid-flight leaves: a mounted filesystem with this label and no handle.
    const orphan = createInstanceScratch({ label, dir: scratchDir, tools: scratchTools() });
    const foreign = createInstanceScratch({ label: `x${run}`, dir: scratchDir, tools: scratchTools() });
    let live: InstanceHandle | null = null;
    try {
      const orphanDir = await orphan.create('rti_orphan', { uid: 462_999, sizeMb: 16 });
      const foreignDir = await foreign.create('rti_orphan', { uid: 462_999, sizeMb: 16 });
      assert.ok(mounted(orphanDir) && mounted(foreignDir));
      // Started after the orphan's mount, so its mount namespaces begin with a copy of it: the
      // cleanup must reach that copy too, or the loop device stays attached.
      live = await driver.start(spec('rti_keep', 'exec node server.js'));
      await createLocalDriver(options).prepare();
      assert.equal(mounted(orphanDir), false, 'the orphan is unmounted');
      const left = await leftovers(label);
      assert.deepEqual(left.filter((l) => l.includes('rti_orphan')), [], 'no mount, loop device or image of the orphan');
      assert.ok(mounted(foreignDir), "another platform's scratch is not touched");
      assert.ok(mounted(scratchMountPath(label, live.id)), 'the running instance keeps its /tmp');
      const address = live.address;
      assert.equal(await waitFor(() => httpText(address), { timeoutMs: 10_000, description: `an answer from ${address}` }), 'hello');
    } finally {
      if (live) await driver.stop(live, 1000);
      await orphan.remove('rti_orphan');
      await foreign.sweep();
      await rmdir(`/run/slipway/x${run}`).catch(() => undefined);
    }
    assert.deepEqual(await leftovers(`x${run}`), []);
  });
});
