import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupDirsFor, mountsUnder } from './engine-host.js';
import { dockerdArgv, engineLayout } from './engine.js';

// From this host: every hierarchy at the root but memory, which nests each session.
const MOUNTINFO = [
  '30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
  '31 25 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '32 25 0:28 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
  '33 25 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  '40 1 254:0 /tmp/swd-a/data /tmp/swd-a/data rw,relatime - ext4 /dev/vda rw',
  '41 40 0:50 / /tmp/swd-a/data/overlay2/abc/merged rw - overlay overlay rw',
  '42 1 0:51 / /tmp/swd-ab rw - tmpfs tmpfs rw',
  '43 1 0:52 / /tmp/swd-a/with\\040space rw - tmpfs tmpfs rw',
].join('\n');
const PROC_CGROUP = '9:name=systemd:/\n4:memory:/process_api/9cc\n1:cpu:/\n0::/\n';

test('mounts under the state folder, deepest first, nothing outside it', () => {
  assert.deepEqual(mountsUnder(MOUNTINFO, '/tmp/swd-a'), ['/tmp/swd-a/data/overlay2/abc/merged', '/tmp/swd-a/with space', '/tmp/swd-a/data']);
});

test('the cgroup parent is found under our own cgroup and at each root', () => {
  assert.deepEqual(cgroupDirsFor(PROC_CGROUP, MOUNTINFO, 'slipway-docker').sort(), [
    '/sys/fs/cgroup/cpu/slipway-docker',
    '/sys/fs/cgroup/memory/process_api/9cc/slipway-docker',
    '/sys/fs/cgroup/memory/slipway-docker',
    '/sys/fs/cgroup/systemd/slipway-docker',
    '/sys/fs/cgroup/unified/slipway-docker',
  ]);
});

test('dockerd is started with every network feature off and its own state', () => {
  const argv = dockerdArgv(engineLayout('/var/lib/slipway/docker'), { cgroupParent: 'slipway-docker' });
  for (const flag of ['--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false']) {
    assert.ok(argv.includes(flag), flag);
  }
  assert.ok(argv.includes('--host=unix:///var/lib/slipway/docker/docker.sock'));
  assert.ok(argv.includes('--config-file=/var/lib/slipway/docker/daemon.json'), 'the host daemon.json is never read');
  assert.ok(!argv.some((a) => a.startsWith('--host=tcp')), 'no TCP listener');
});
