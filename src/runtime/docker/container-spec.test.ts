import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StartInstanceSpec } from '../runtime-driver.js';
import { FALLBACK_USER, containerCreateBody, instanceUser, userNeedsPasswd } from './container-spec.js';

const spec: StartInstanceSpec = {
  id: 'rti_01',
  release: { kind: 'image', image: 'slipway/app:v1' },
  runCommand: 'node server.js',
  port: 8080,
  env: { NODE_ENV: 'production', HOME: '/home/app' },
  resources: { memory_mb: 256, cpu_millis: 250, disk_mb: 64, pids_max: 100 },
  logPath: '/var/log/x.log',
};

test('the create body carries the same limits, no network and no privileges', () => {
  const body = containerCreateBody(spec, { kind: 'image', image: 'sha256:abc' }, 'app');
  assert.equal(body.Image, 'sha256:abc');
  assert.deepEqual(body.Cmd, ['/bin/sh', '-c', 'exec 2>&1\nnode server.js'], 'stderr shares stdout’s pipe, so their order survives');
  assert.deepEqual(body.Env.sort(), ['HOME=/home/app', 'NODE_ENV=production', 'PORT=8080', 'TMPDIR=/tmp']);
  assert.equal(body.User, 'app');
  assert.deepEqual(body.Labels, { 'dev.slipway.owned': 'true', 'dev.slipway.instance': 'rti_01' });
  const host = body.HostConfig;
  assert.equal(host.NetworkMode, 'none');
  assert.equal(host.ReadonlyRootfs, true);
  assert.equal(host.Memory, 256 * 1024 * 1024);
  assert.equal(host.MemorySwap, host.Memory, 'no swap on top of the memory limit');
  assert.equal(host.NanoCpus, 250_000_000);
  assert.equal(host.PidsLimit, 100);
  assert.deepEqual(host.CapDrop, ['ALL']);
  assert.deepEqual(host.SecurityOpt, ['no-new-privileges']);
  assert.match(host.Tmpfs['/tmp'] ?? '', /size=64m/);
  assert.equal(host.RestartPolicy.Name, 'no', 'restarts are the agent’s, with its backoff');
  assert.equal(host.Init, true, 'an init forwards SIGTERM: a pid 1 without a handler would ignore it');
});

test('an empty run command keeps the image’s own command; PORT always wins', () => {
  const body = containerCreateBody({ ...spec, runCommand: '  ', env: { PORT: '1' } }, { kind: 'image', image: 'x' }, FALLBACK_USER);
  assert.equal(body.Cmd, undefined);
  assert.ok(body.Env.includes('PORT=8080'));
  assert.ok(body.Env.includes('HOME=/tmp'));
});

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\n  toor:x:0:0::/:/bin/sh\ntoor:x:1000:1000::/:/bin/sh\napp:x:10001:10001:app:/tmp:/bin/sh\nodd:x:abc:0::/:/bin/sh\n';

test('root is never kept, whatever the image says', () => {
  for (const user of [undefined, '', ' ', 'root', '0', '0:0', 'root:root']) assert.equal(instanceUser(user, PASSWD), FALLBACK_USER, String(user));
  assert.equal(instanceUser('app', PASSWD), 'app');
  assert.equal(instanceUser('1000:1000'), '1000:1000');
});

test('uid 0 in any spelling, or a name that maps to it, runs as the unprivileged user', () => {
  for (const user of ['00', '0000', '00:00', '0:1000', ' 0 ', '4294967296', '99999999999']) {
    assert.equal(instanceUser(user, PASSWD), FALLBACK_USER, user);
  }
  // The engine takes the first entry with the name, after trimming the line: uid 0 here.
  assert.equal(instanceUser('toor', PASSWD), FALLBACK_USER);
  assert.equal(instanceUser('toor:1000', PASSWD), FALLBACK_USER);
  assert.equal(instanceUser('odd', PASSWD), FALLBACK_USER, 'a uid that is not a number');
  assert.equal(instanceUser('ghost', PASSWD), FALLBACK_USER, 'a name the image does not have');
  assert.equal(instanceUser('app', null), FALLBACK_USER, 'no passwd to vouch for the name');
  assert.equal(instanceUser('app:root', PASSWD), 'app:root', 'a group gives no privilege without capabilities');
  assert.equal(instanceUser('1000', null), '1000', 'a number needs no passwd');
  assert.equal(instanceUser('10001:10001', null), '10001:10001');
});

test('only named users need the image\'s passwd', () => {
  assert.equal(userNeedsPasswd('app'), true);
  assert.equal(userNeedsPasswd('app:1000'), true);
  for (const user of [undefined, '', '0', '00:0', '1000:app']) assert.equal(userNeedsPasswd(user), false, String(user));
});
