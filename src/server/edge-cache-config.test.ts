import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.js';

const base = { SLIPWAY_HOME: '/tmp/slipway-edge-cache-config-test' };

test('SLIPWAY_EDGE_CACHE_MAX_BYTES: unset is the edge default, 0 no bound, else at least 1 MiB', () => {
  assert.equal(loadConfig(base).edgeCacheMaxBytes, undefined);
  assert.equal(loadConfig({ ...base, SLIPWAY_EDGE_CACHE_MAX_BYTES: '0' }).edgeCacheMaxBytes, 0);
  assert.equal(loadConfig({ ...base, SLIPWAY_EDGE_CACHE_MAX_BYTES: '1048576' }).edgeCacheMaxBytes, 1024 * 1024);
  assert.throws(() => loadConfig({ ...base, SLIPWAY_EDGE_CACHE_MAX_BYTES: '4096' }), /SLIPWAY_EDGE_CACHE_MAX_BYTES must be a whole number ≥ 1048576/);
});
