import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { probeCgroups, probeIsolation } from './host-probe.js';

// The decision table of the probe, on directories that mimic /sys/fs/cgroup: v1 wins when its
// controllers are mounted, v2 when it offers them to a writable subtree, else no limits (and
// the sandbox still runs: the cgroups never decide isolation).
describe('host probe', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('slipway-probe-');
  });
  after(async () => {
    await removeDir(dir);
  });

  const fakeRoot = async (name: string, files: Record<string, string>): Promise<string> => {
    const root = join(dir, name);
    for (const [path, text] of Object.entries(files)) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), text);
    }
    await mkdir(root, { recursive: true });
    return root;
  };
  const V1 = { 'memory/cgroup.procs': '', 'pids/cgroup.procs': '', 'cpu/cgroup.procs': '' };
  const V2 = { 'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma\n', 'cgroup.subtree_control': '' };

  test('v1 controllers mounted: v1, even beside a v2 hierarchy', async () => {
    assert.deepEqual(probeCgroups(await fakeRoot('v1', { ...V1, 'unified/cgroup.controllers': '' })), { version: 'v1', root: join(dir, 'v1') });
    assert.deepEqual(probeCgroups(await fakeRoot('hybrid', { ...V1, ...V2 })), { version: 'v1', root: join(dir, 'hybrid') });
  });

  test('no v1, a v2 hierarchy offering memory, pids and cpu to a writable subtree: v2', async () => {
    assert.deepEqual(probeCgroups(await fakeRoot('v2', V2)), { version: 'v2', root: join(dir, 'v2') });
  });

  test('v1 partly mounted and no v2: none, naming what is missing', async () => {
    const probe = probeCgroups(await fakeRoot('partial', { 'memory/cgroup.procs': '' }));
    assert.equal(probe.version, 'none');
    assert.match(probe.version === 'none' ? probe.reason : '', /cgroup v1 controllers not mounted: pids, cpu and no cgroup v2 hierarchy/);
  });

  test('v2 without the controllers (this machine\'s empty unified hierarchy): none', async () => {
    const probe = probeCgroups(await fakeRoot('v2empty', { 'cgroup.controllers': 'hugetlb\n', 'cgroup.subtree_control': '' }));
    assert.equal(probe.version, 'none');
    assert.match(probe.version === 'none' ? probe.reason : '', /does not offer the memory, pids, cpu controller/);
  });

  test('v2 whose subtree Slipway may not write: none', { skip: process.getuid?.() === 0 ? 'root may write any file' : false }, async () => {
    const root = await fakeRoot('v2ro', V2);
    await chmod(join(root, 'cgroup.subtree_control'), 0o444);
    const probe = probeCgroups(root);
    assert.equal(probe.version, 'none');
    assert.match(probe.version === 'none' ? probe.reason : '', /cannot be delegated/);
  });

  test('nothing at the root: none, and the sandbox is still available as root with the tools', async () => {
    const root = join(dir, 'nonexistent');
    const probe = probeIsolation({ cgroupRoot: root, uid: 0, findTool: (name) => `/usr/bin/${name}` });
    assert.equal(probe.available, true);
    assert.deepEqual(probe.available && probe.cgroup, { version: 'none', root, reason: `no cgroup v1 controllers and no cgroup v2 hierarchy at ${root}` });
  });

  test('missing tools or no root make isolation unavailable, whatever the cgroups', async () => {
    const root = await fakeRoot('v1tools', V1);
    assert.deepEqual(probeIsolation({ cgroupRoot: root, uid: 0, findTool: (n) => (n === 'bwrap' || n === 'nft' ? null : `/usr/bin/${n}`) }),
      { available: false, reason: 'missing tools: nft, bwrap', root: true });
    assert.deepEqual(probeIsolation({ cgroupRoot: root, uid: 1000, findTool: (n) => `/usr/bin/${n}` }),
      { available: false, reason: 'not running as root', root: false });
  });
});
