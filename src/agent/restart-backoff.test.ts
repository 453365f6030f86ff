import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RESTART_BACKOFF_MS } from '../core/runtime.js';
import { RestartBackoff, type RestartDecision } from './restart-backoff.js';

const delays = (decisions: RestartDecision[]) => decisions.map((d) => (d.restart ? d.delayMs : `gave up after ${d.restarts}`));

test('the first failure after a healthy run restarts at once; failures that follow wait 1 s, 2 s, 5 s, …', () => {
  const backoff = new RestartBackoff(() => 5);
  assert.deepEqual(delays([backoff.next(true), backoff.next(true), backoff.next(false), backoff.next(true), backoff.next(true), backoff.next(true)]),
    [0, 1000, 2000, 5000, 30_000, 'gave up after 5']);
});

test('a run that never became healthy waits from the first failure on, as before', () => {
  const backoff = new RestartBackoff(() => 5);
  assert.deepEqual(delays([backoff.next(false), backoff.next(false), backoff.next(false)]), [1000, 2000, 5000]);
});

test('a stable run starts afresh: the next failure after a healthy run is immediate again', () => {
  const backoff = new RestartBackoff(() => 5);
  backoff.next(true);
  backoff.next(true);
  backoff.stable();
  assert.equal(backoff.count, 0);
  assert.deepEqual(delays([backoff.next(true), backoff.next(true)]), [0, 1000]);
});

test('the budget counts every restart in a row, the immediate one included, and the table ends at its last step', () => {
  const budget = { n: 1 };
  const backoff = new RestartBackoff(() => budget.n);
  assert.deepEqual(delays([backoff.next(true), backoff.next(true)]), [0, 'gave up after 1']);
  budget.n = 20;
  const rest = delays(Array.from({ length: 8 }, () => backoff.next(false)));
  assert.deepEqual(rest, [1000, 2000, 5000, 30_000, 300_000, 300_000, 300_000, 300_000]);
  assert.equal(RESTART_BACKOFF_MS.at(-1), 300_000);
});
