import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INSTANCE_LABEL } from './container-spec.js';
import { dockerData, factsFromLabels, handleLabels, makeHandle } from './container-handles.js';

const facts = { id: 'rti_01', slot: 7, port: 8080, startedAt: 1_796_000_000_123, logPath: '/srv/logs/rti_01.log' };

test("a container's labels give back the handle it was started with", () => {
  const labels = { ...handleLabels('slw1a2bc', facts), [INSTANCE_LABEL]: facts.id };
  assert.deepEqual(factsFromLabels(labels), facts);
  const handle = makeHandle(facts, { containerId: 'abc', pid: 42, instanceIp: '10.215.0.30' });
  assert.equal(handle.address, '10.215.0.30:8080');
  assert.deepEqual(dockerData(handle), { driver: 'docker', containerId: 'abc', slot: 7, pid: 42, logPath: facts.logPath });
});

test('labels that are not a whole handle give none, and handles of other drivers are not read as ours', () => {
  const labels: Record<string, string> = { ...handleLabels('slw1a2bc', facts), [INSTANCE_LABEL]: facts.id };
  for (const key of Object.keys(labels)) {
    if (key === 'dev.slipway.runtime') continue;
    const { [key]: _dropped, ...rest } = labels;
    assert.equal(factsFromLabels(rest), null, `without ${key}`);
  }
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.slot': '-1' }), null);
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.port': 'x' }), null);
  assert.equal(dockerData({ id: 'rti_01', address: '', port: 1, startedAt: 0, data: { mode: 'isolated', pid: 3, slot: 1 } }), null);
});

test('labels are untrusted: a bad id, a foreign name, a slot outside the subnet, a bad port or a log file not the agent\'s give no handle', () => {
  const labels: Record<string, string> = { ...handleLabels('slw1a2bc', facts), [INSTANCE_LABEL]: facts.id };
  const named = { name: '/slipway-rti_01' };
  assert.deepEqual(factsFromLabels(labels, named), facts, 'the control: the real labels and name');
  assert.equal(factsFromLabels(labels, { name: '/forged-probe' }), null, 'another container with a real id');
  assert.equal(factsFromLabels({ ...labels, [INSTANCE_LABEL]: '../x' }), null, 'an id that is a path');
  assert.equal(factsFromLabels({ ...labels, [INSTANCE_LABEL]: '' }), null, 'a blanked id');
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.slot': '16384' }), null, 'a slot outside the subnet');
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.port': '0' }), null);
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.port': '65536' }), null);
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.log-path': '/etc/cron.d/x' }), null, 'not <dir>/<id>.log');
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.log-path': '/srv/../etc/rti_01.log' }), null, 'not normalised');
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.log-path': 'logs/rti_01.log' }), null, 'relative');
  assert.deepEqual(factsFromLabels(labels, { logDir: '/srv/logs' }), facts, 'the agent\'s own log folder');
  assert.equal(factsFromLabels({ ...labels, 'dev.slipway.log-path': '/etc/rti_01.log' }, { logDir: '/srv/logs' }), null);
});
