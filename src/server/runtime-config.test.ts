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
