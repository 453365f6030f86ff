import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLimiter } from './limiter.js';
import { waitFor } from './wait-for.js';

test('no more than the slots run at once, all finish, a failure frees its slot', async () => {
  const limit = createLimiter(2);
  let running = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const calls = Array.from({ length: 5 }, (_, i) => limit(async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running--;
    if (i === 0) throw new Error('first fails');
    return i;
  }));
  // Settled only at the end: keep the first call's rejection from counting as unhandled.
  const settled = Promise.allSettled(calls);
  // Open the gates one by one, each once its call has started.
  for (let opened = 0; opened < 5; opened++) {
    await waitFor(() => gates.length > opened, { timeoutMs: 5_000, intervalMs: 1, description: `call ${opened} to start` });
    assert.ok(running <= 2);
    gates[opened]!();
  }
  const results = await settled;
  assert.equal(most, 2);
  assert.equal(results[0]!.status, 'rejected');
  assert.deepEqual(results.slice(1).map((r) => (r as PromiseFulfilledResult<number>).value), [1, 2, 3, 4]);
});
