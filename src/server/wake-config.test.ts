import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';

const base = { SLIPWAY_HOME: '/tmp/slipway-wake-config-test' };

test('SLIPWAY_WAKE_IDLE_MS must leave room for several usage reports (every 2 s); the woken-version cap defaults to 3', () => {
  assert.throws(() => loadConfig({ ...base, SLIPWAY_WAKE_IDLE_MS: '4000' }), /SLIPWAY_WAKE_IDLE_MS must be a whole number ≥ 10000/);
  const config = loadConfig({ ...base, SLIPWAY_WAKE_IDLE_MS: '10000' });
  assert.equal(config.wakeIdleMs, 10_000);
  assert.equal(config.wakeMaxVersions, 3);
  assert.equal(loadConfig({ ...base, SLIPWAY_WAKE_MAX_VERSIONS: '1' }).wakeMaxVersions, 1);
  assert.throws(() => loadConfig({ ...base, SLIPWAY_WAKE_MAX_VERSIONS: '0' }), /SLIPWAY_WAKE_MAX_VERSIONS/);
});
