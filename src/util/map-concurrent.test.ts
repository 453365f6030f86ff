import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapConcurrent } from './map-concurrent.js';

test('keeps input order and never exceeds the concurrency', async () => {
  let running = 0;
  let peak = 0;
  const result = await mapConcurrent([5, 1, 4, 2, 3, 0], 2, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((resolve) => setImmediate(resolve));
    running--;
    return n * 10;
  });
  assert.deepEqual(result, [50, 10, 40, 20, 30, 0]);
  assert.equal(peak, 2);
});

test('an empty list gives an empty result', async () => {
  assert.deepEqual(await mapConcurrent([], 4, async () => 1), []);
});

test('the first failure is rethrown after running calls settle, and no new call starts', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapConcurrent([0, 1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      await new Promise((resolve) => setImmediate(resolve));
      settled++;
      if (n === 1) throw new Error(`failed ${n}`);
      return n;
    }),
    /failed 1/,
  );
  assert.equal(settled, started.length);
  assert.ok(started.length < 6, `started ${started.join(',')}`);
});
