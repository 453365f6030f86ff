import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startingRecheckMs } from './health-probe.js';

test('a starting instance is rechecked after an eighth of its time so far, from 25 ms to 50 ms, never past its interval', () => {
  assert.deepEqual([0, 100, 200, 300, 400, 2000, 60_000].map((t) => startingRecheckMs(t, 1000)), [25, 25, 25, 37.5, 50, 50, 50]);
  assert.equal(startingRecheckMs(0, 10), 10, 'a shorter interval wins');
});
