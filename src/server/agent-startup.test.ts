import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import type { LocalDriver } from '../runtime/local/local-driver.js';
import type { RuntimeCapabilities, RuntimeDriver } from '../runtime/runtime-driver.js';
import { createRuntimeDriver, driverLine, engineWords } from './agent-startup.js';
import { loadConfig } from './config.js';

const ALL_ON: RuntimeCapabilities = {
  isolatedNetwork: true, sandboxedFilesystem: true, resourceLimits: true, resourceLimitsReason: null, ownUser: true, containerImages: false,
};

// driverLine reads only these facts of the local driver.
function local(facts: Partial<LocalDriver> = {}): LocalDriver {
  return { name: 'local', capabilities: ALL_ON, refusal: null, fallbackReason: null, cgroupVersion: 'v1', warnings: [], ...facts } as LocalDriver;
}

const docker = { name: 'docker', capabilities: { ...ALL_ON, containerImages: true } } as RuntimeDriver;
const images = { driver: docker, engine: 'dockerd 20.10.24+dfsg1 (pid 42, adopted)' };

test('the local-only start line keeps its shape; with the docker driver it names both and says what each gives', () => {
  assert.equal(driverLine(local()), 'agent: driver local (network isolation on, sandbox on, limits on); cgroup v1');
  assert.equal(
    driverLine(local(), images),
    'agent: driver local+docker (network isolation on, sandbox on, limits on); cgroup v1; image releases: driver docker (network isolation on, sandbox on, limits on, own user on) on dockerd 20.10.24+dfsg1 (pid 42, adopted)',
  );
  // A local driver that refuses still leaves image releases running: the line must not say all are refused.
  const refusing = driverLine(local({ refusal: 'no bwrap' }), images);
  assert.match(refusing, /; REFUSING to start file-tree instances \(isolation_unavailable\): no bwrap; image releases: driver docker \(/);
  assert.equal(driverLine(local({ refusal: 'no bwrap' })), 'agent: driver local (network isolation on, sandbox on, limits on); REFUSING to start instances (isolation_unavailable): no bwrap');
});

test('without its engine, the start line keeps the local part and says loudly that image releases will not run', () => {
  assert.equal(
    driverLine(local(), undefined, 'dockerd did not start: exited with code 1'),
    'agent: driver local (network isolation on, sandbox on, limits on); cgroup v1; WARNING: image releases (Dockerfile apps) will NOT run: dockerd did not start: exited with code 1',
  );
});

test('SLIPWAY_RUNTIME_DRIVER=docker with an engine gives the composite; without one, or with local, the local driver alone', () => {
  const untouched: EngineApi = {
    json: () => Promise.reject(new Error('nothing may reach the engine while the driver is made')),
    stream: () => Promise.reject(new Error('nothing may reach the engine while the driver is made')),
    close: async () => undefined,
  };
  const env = { SLIPWAY_HOME: '/tmp/slipway-agent-startup-test', SLIPWAY_RUNTIME_LABEL: 'tabc' };
  const both = createRuntimeDriver(loadConfig({ ...env, SLIPWAY_RUNTIME_DRIVER: 'docker' }), untouched);
  assert.equal(both.driver.name, 'local+docker');
  assert.equal(both.driver.capabilities.containerImages, true);
  assert.equal(both.images?.name, 'docker');
  const noEngine = createRuntimeDriver(loadConfig({ ...env, SLIPWAY_RUNTIME_DRIVER: 'docker' }), null);
  assert.equal(noEngine.driver, noEngine.local);
  assert.equal(noEngine.images, null);
  const plain = createRuntimeDriver(loadConfig(env), untouched);
  assert.equal(plain.driver, plain.local);
  assert.equal(plain.driver.capabilities.containerImages, false);
});

test('the start line says which host uid root in the engine runs as, and loudly when it is host root', () => {
  assert.equal(engineWords({ pid: 42, started: true, remappedRoot: 3_000_000 }, '20.10.24'), 'dockerd 20.10.24 (pid 42, started), root remapped to host uid 3000000');
  assert.equal(
    engineWords({ pid: 42, started: false, remappedRoot: null }, '20.10.24'),
    'dockerd 20.10.24 (pid 42, adopted); WARNING: Dockerfile builds run as root on the host (SLIPWAY_DOCKER_USERNS=off)',
  );
});
