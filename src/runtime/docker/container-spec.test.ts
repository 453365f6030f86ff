import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StartInstanceSpec } from '../runtime-driver.js';
import { FALLBACK_USER, containerCreateBody, instanceUser } from './container-spec.js';

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
});

test('an empty run command keeps the image’s own command; PORT always wins', () => {
  const body = containerCreateBody({ ...spec, runCommand: '  ', env: { PORT: '1' } }, { kind: 'image', image: 'x' }, undefined);
  assert.equal(body.Cmd, undefined);
  assert.ok(body.Env.includes('PORT=8080'));
  assert.ok(body.Env.includes('HOME=/tmp'));
});

test('root is never kept, whatever the image says', () => {
  for (const user of [undefined, '', ' ', 'root', '0', '0:0', 'root:root']) assert.equal(instanceUser(user), FALLBACK_USER, String(user));
  assert.equal(instanceUser('app'), 'app');
  assert.equal(instanceUser('1000:1000'), '1000:1000');
});
