import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';

const base = { SLIPWAY_HOME: '/tmp/slipway-runtime-config-test' };

test('the container subnet is checked only for the docker driver: a local host may use 10.215/16 for builds', () => {
  // The container subnet's default is 10.215.0.0/16; on the local driver it names nothing.
  assert.equal(loadConfig({ ...base, SLIPWAY_BUILD_SUBNET: '10.215.0.0/16' }).runtimeDriver, 'local');
  assert.throws(
    () => loadConfig({ ...base, SLIPWAY_RUNTIME_DRIVER: 'docker', SLIPWAY_BUILD_SUBNET: '10.215.0.0/16' }),
    /SLIPWAY_CONTAINER_SUBNET must differ from SLIPWAY_BUILD_SUBNET/,
  );
  const docker = loadConfig({ ...base, SLIPWAY_RUNTIME_DRIVER: 'docker', SLIPWAY_CONTAINER_SUBNET: '10.77.0.0/16' });
  assert.equal(docker.containerSubnet, '10.77.0.0/16');
  assert.throws(() => loadConfig({ ...base, SLIPWAY_RUNTIME_DRIVER: 'podman' }), /SLIPWAY_RUNTIME_DRIVER must be local or docker/);
  assert.throws(() => loadConfig({ ...base, SLIPWAY_RUNTIME_DRIVER: 'docker', SLIPWAY_CONTAINER_SUBNET: '10.77.1.0/24' }), /IPv4 \/16/);
});

test('with the docker driver remapping, build and instance uids may not fall in the remap range (3000000-3065535)', () => {
  const docker = { ...base, SLIPWAY_RUNTIME_DRIVER: 'docker' };
  assert.throws(() => loadConfig({ ...docker, SLIPWAY_INSTANCE_UID_BASE: '2999500' }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'invalid_request');
    assert.match(err.message, /^SLIPWAY_INSTANCE_UID_BASE gives uids 2999500-3000499, which overlap the uids Docker's remapped containers run as \(3000000-3065535/);
    return true;
  });
  // Only the uids the ranges really hold count: 1000 instances, one build user per concurrent build.
  assert.equal(loadConfig({ ...docker, SLIPWAY_INSTANCE_UID_BASE: '2999000' }).instanceUidBase, 2_999_000);
  assert.equal(loadConfig({ ...docker, SLIPWAY_INSTANCE_UID_BASE: '3065536' }).instanceUidBase, 3_065_536);
  if (process.getuid?.() === 0) {
    // Build users exist only as root.
    assert.throws(() => loadConfig({ ...docker, SLIPWAY_BUILD_UID_BASE: '3065535' }), /SLIPWAY_BUILD_UID_BASE gives uids 3065535-3065536, which overlap/);
    assert.equal(loadConfig({ ...docker, SLIPWAY_BUILD_UID_BASE: '2999998' }).buildUidBase, 2_999_998);
  }
  // Without remapping, or without the docker driver, the range means nothing.
  assert.equal(loadConfig({ ...docker, SLIPWAY_DOCKER_USERNS: 'off', SLIPWAY_INSTANCE_UID_BASE: '3000000' }).instanceUidBase, 3_000_000);
  assert.equal(loadConfig({ ...base, SLIPWAY_INSTANCE_UID_BASE: '3000000' }).instanceUidBase, 3_000_000);
});
