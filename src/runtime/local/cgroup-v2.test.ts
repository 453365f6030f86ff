import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, removeDir } from '../../util/temp-dir.js';
import { createCgroupsV2 } from './cgroup-v2.js';

// Only the file-writing logic, against a directory that mimics cgroupfs: this host's cgroup v2
// has no controllers, so v2 is not proven on a real kernel here (that needs a v2 VM).
let root: string;
before(async () => {
  root = await makeTempDir('slipway-cgv2-');
  await writeFile(join(root, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  await writeFile(join(root, 'cgroup.subtree_control'), '');
});
after(async () => {
  await removeDir(root);
});

test('prepare enables memory, pids and cpu in every parent down to the label', async () => {
  const cg = createCgroupsV2(root, 'lab1');
  await cg.prepare();
  for (const dir of [root, join(root, 'slipway'), join(root, 'slipway', 'lab1')]) {
    assert.equal(await readFile(join(dir, 'cgroup.subtree_control'), 'utf8'), '+memory +pids +cpu', dir);
  }
});

test('prepare leaves a parent alone whose controllers are already enabled', async () => {
  const cg = createCgroupsV2(root, 'lab2');
  await mkdir(join(root, 'slipway', 'lab2'), { recursive: true });
  await writeFile(join(root, 'slipway', 'lab2', 'cgroup.subtree_control'), 'cpu memory pids\n');
  await cg.prepare();
  assert.equal(await readFile(join(root, 'slipway', 'lab2', 'cgroup.subtree_control'), 'utf8'), 'cpu memory pids\n');
});

test('an instance gets one group with memory.max, no swap, pids.max and cpu.max', async () => {
  const cg = createCgroupsV2(root, 'lab1');
  const dirs = cg.instanceDirs('rti_a');
  assert.deepEqual(dirs, [join(root, 'slipway', 'lab1', 'rti_a')]);
  const dir = dirs[0] as string;
  // The kernel creates memory.swap.max only with swap accounting; the fake has it.
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'memory.swap.max'), 'max\n');
  await cg.create(dirs, { memory_mb: 256, cpu_millis: 500, pids_max: 64, disk_mb: 512 });
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  assert.equal(await read('memory.max'), String(256 * 1024 * 1024));
  assert.equal(await read('memory.swap.max'), '0');
  assert.equal(await read('pids.max'), '64');
  assert.equal(await read('cpu.max'), '50000 100000');
  assert.deepEqual(cg.procsFiles(dirs), [join(dir, 'cgroup.procs')]);
  assert.deepEqual(cg.labelled(), [dirs]);
});

test('members come from cgroup.procs; oom_kill in memory.events means OOM-killed', async () => {
  const cg = createCgroupsV2(root, 'lab1');
  const dirs = cg.instanceDirs('rti_b');
  const dir = dirs[0] as string;
  await mkdir(dir, { recursive: true });
  assert.deepEqual(cg.members(dirs), []);
  assert.equal(await cg.oomKilled(dirs), false, 'no memory.events yet');
  await writeFile(join(dir, 'cgroup.procs'), '123\n456\n');
  assert.deepEqual(cg.members(dirs), [123, 456]);
  await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n');
  assert.equal(await cg.oomKilled(dirs), false, 'hitting max is not a kill');
  await writeFile(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n');
  assert.equal(await cg.oomKilled(dirs), true);
});

test('killAll writes cgroup.kill and waits until the group is empty', async () => {
  const cg = createCgroupsV2(root, 'lab1');
  const dirs = cg.instanceDirs('rti_c');
  const dir = dirs[0] as string;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'cgroup.kill'), '');
  await writeFile(join(dir, 'cgroup.procs'), '');
  assert.equal(await cg.killAll(dirs), true);
  assert.equal(await readFile(join(dir, 'cgroup.kill'), 'utf8'), '1');
});
