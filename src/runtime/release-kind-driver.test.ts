import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RESOURCES } from '../core/runtime.js';
import { SlipwayError } from '../core/errors.js';
import { createReleaseKindDriver } from './release-kind-driver.js';
import type { InstanceHandle, InstanceRelease, RuntimeCapabilities, RuntimeDriver, StartInstanceSpec } from './runtime-driver.js';

// A recording stand-in for each half: the composite's only job is to send each call to the
// right one, so what matters is which driver saw which call.
interface Recorder extends RuntimeDriver {
  calls: string[];
  handles: InstanceHandle[];
  failWith?: Error;
}

function recorder(name: string, capabilities: Partial<RuntimeCapabilities> = {}): Recorder {
  const calls: string[] = [];
  const handles: InstanceHandle[] = [];
  const self: Recorder = {
    name, calls, handles,
    capabilities: {
      isolatedNetwork: true, sandboxedFilesystem: true, resourceLimits: true, resourceLimitsReason: null, ownUser: true,
      containerImages: name === 'docker', ...capabilities,
    },
    async prepare() {
      calls.push('prepare');
      if (self.failWith) throw self.failWith;
    },
    async start(spec) {
      calls.push(`start ${spec.id}`);
      const handle = { id: spec.id, address: '10.0.0.2:3000', port: 3000, startedAt: 1, data: name === 'docker' ? { driver: 'docker' } : { mode: 'isolated' } };
      handles.push(handle);
      return handle;
    },
    isRunning: async (h) => (calls.push(`isRunning ${h.id}`), true),
    listeningPorts: async (h) => (calls.push(`listeningPorts ${h.id}`), [3000]),
    connectionCount: async (h) => (calls.push(`connectionCount ${h.id}`), 0),
    exitInfo: async (h) => (calls.push(`exitInfo ${h.id}`), { oomKilled: false, exitCode: 0, signal: null }),
    stop: async (h) => void calls.push(`stop ${h.id}`),
    remove: async (h) => void calls.push(`remove ${h.id}`),
    list: async () => handles,
    async destroyAll() {
      calls.push('destroyAll');
      if (self.failWith) throw self.failWith;
    },
  };
  return self;
}

function spec(id: string, release: InstanceRelease): StartInstanceSpec {
  return { id, release, runCommand: '', port: 3000, env: {}, resources: DEFAULT_RESOURCES, logPath: '/dev/null' };
}

const TREE: InstanceRelease = { kind: 'tree', appDir: '/srv/app' };
const IMAGE: InstanceRelease = { kind: 'image', image: 'sha256:abc' };

test('starts route by release kind, and every later call by the handle, also for handles read back after a restart', async () => {
  const local = recorder('local');
  const docker = recorder('docker');
  const driver = createReleaseKindDriver(local, docker);
  const fromTree = await driver.start(spec('rti_tree', TREE));
  const fromImage = await driver.start(spec('rti_image', IMAGE));
  assert.deepEqual(local.calls, ['start rti_tree']);
  assert.deepEqual(docker.calls, ['start rti_image']);

  // A new composite over the same halves, as a restarted agent makes: it has only the handles.
  const reopened = createReleaseKindDriver(local, docker);
  const adopted = await reopened.list();
  assert.deepEqual(adopted.map((h) => h.id).sort(), ['rti_image', 'rti_tree']);
  for (const h of [...adopted, fromTree, fromImage]) {
    await reopened.isRunning(h);
    await reopened.listeningPorts(h);
    await reopened.connectionCount(h);
    await reopened.exitInfo(h);
    await reopened.stop(h, 100);
    await reopened.remove(h);
  }
  const perHandle = (id: string) => [`isRunning ${id}`, `listeningPorts ${id}`, `connectionCount ${id}`, `exitInfo ${id}`, `stop ${id}`, `remove ${id}`];
  assert.deepEqual(local.calls.slice(1), [...perHandle('rti_tree'), ...perHandle('rti_tree')]);
  assert.deepEqual(docker.calls.slice(1), [...perHandle('rti_image'), ...perHandle('rti_image')]);
});

test('names both drivers, and has the tree driver\'s capabilities with container images on', () => {
  const local = recorder('local', { resourceLimits: false, resourceLimitsReason: 'no cgroups', containerImages: false });
  const driver = createReleaseKindDriver(local, recorder('docker'));
  assert.equal(driver.name, 'local+docker');
  assert.deepEqual(driver.capabilities, { ...local.capabilities, containerImages: true });
});

test('per instance, capabilities are those of the driver that runs it: a container enforces its limits on a host whose local driver cannot', async () => {
  const local = recorder('local', { resourceLimits: false, resourceLimitsReason: 'no cgroups', containerImages: false });
  const docker = recorder('docker');
  const driver = createReleaseKindDriver(local, docker);
  const tree = await driver.start(spec('rti_tree', TREE));
  const image = await driver.start(spec('rti_image', IMAGE));
  assert.deepEqual(driver.capabilitiesOf?.(tree), local.capabilities);
  assert.deepEqual(driver.capabilitiesOf?.(image), docker.capabilities);
});

test('prepare and destroyAll run on both, and one failing does not spare the other', async () => {
  const local = recorder('local');
  const docker = recorder('docker');
  docker.failWith = new SlipwayError('unavailable', 'the engine is gone');
  const driver = createReleaseKindDriver(local, docker);
  await assert.rejects(driver.destroyAll(), /the engine is gone/);
  assert.deepEqual([local.calls, docker.calls], [['destroyAll'], ['destroyAll']]);
  local.failWith = new Error('nft failed');
  await assert.rejects(driver.prepare(), (err: SlipwayError) => {
    assert.equal(err.code, 'internal_error');
    assert.match(err.message, /local: nft failed; docker: the engine is gone/);
    return true;
  });
  assert.deepEqual([local.calls, docker.calls], [['destroyAll', 'prepare'], ['destroyAll', 'prepare']]);
});
