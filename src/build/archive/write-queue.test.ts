import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../util/wait-for.js';
import { WriteQueue } from './write-queue.js';

/** A promise the test settles by hand. */
function gate(): { promise: Promise<void>; open: () => void; fail: (err: Error) => void } {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

test('never more than maxTasks run at once, and add waits for room (backpressure)', async () => {
  const queue = new WriteQueue({ maxTasks: 3, maxBytes: 1000 });
  const gates = Array.from({ length: 7 }, gate);
  let running = 0;
  let most = 0;
  let added = 0;
  const adding = (async () => {
    for (const g of gates) {
      await queue.add(1, async () => {
        running++;
        most = Math.max(most, running);
        await g.promise;
        running--;
      });
      added++;
    }
  })();
  // Let the adder run as far as it can: it must stop at the fourth task.
  for (let i = 0; i < 20; i++) await Promise.resolve();
  assert.equal(added, 3);
  for (const g of gates) g.open();
  await adding;
  await queue.drain();
  assert.equal(most, 3);
  assert.equal(running, 0);
});

test('bytes held by running tasks stay within maxBytes; a task larger than that runs alone', async () => {
  const queue = new WriteQueue({ maxTasks: 10, maxBytes: 100 });
  let held = 0;
  let mostHeld = 0;
  let running = 0;
  let bigRanWith = -1;
  const sizes = [40, 40, 40, 30, 250, 10, 60, 60];
  for (const size of sizes) {
    await queue.add(size, async () => {
      running++;
      held += size;
      mostHeld = Math.max(mostHeld, size > 100 ? 0 : held);
      if (size > 100) bigRanWith = running;
      // Give the others a chance to overlap.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      held -= size;
      running--;
    });
  }
  await queue.drain();
  assert.ok(mostHeld <= 100, `held ${mostHeld} bytes at once`);
  assert.equal(bigRanWith, 1, 'the oversized task ran alone');
});

test('the first failure stops new tasks: add and drain throw it, settle waits for the rest', async () => {
  const queue = new WriteQueue({ maxTasks: 4, maxBytes: 1000 });
  const slow = gate();
  let slowDone = false;
  await queue.add(1, async () => {
    await slow.promise;
    slowDone = true;
  });
  const boom = new Error('disk full');
  const second = gate();
  await queue.add(1, () => second.promise);
  await queue.add(1, () => Promise.reject(boom));
  // Wait for the first failure to be recorded (the slow task still holds its slot).
  await waitFor(() => assert.throws(() => queue.check(), (err) => err === boom) === undefined, { description: 'the failure is recorded' });
  second.fail(new Error('a later failure'));
  let started = false;
  await assert.rejects(queue.add(1, async () => { started = true; }), (err) => err === boom);
  assert.equal(started, false, 'no task starts after a failure');
  const settled = queue.settle();
  slow.open();
  await settled;
  assert.equal(slowDone, true, 'settle waited for the task still running');
  await assert.rejects(queue.drain(), (err) => err === boom);
});
