import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WRONG_PORT_CONFIRM_MS, WrongPortWatch, wrongPortReason } from './wrong-port.js';

test('listening only elsewhere fails once confirmed by a later check, not at the first sight', () => {
  const w = new WrongPortWatch();
  assert.equal(w.observe([8000], 3000, 1000), null);
  assert.equal(w.observe([8000], 3000, 1000 + WRONG_PORT_CONFIRM_MS - 1), null, 'not yet: too soon after the first sight');
  assert.deepEqual(w.observe([8000], 3000, 1000 + WRONG_PORT_CONFIRM_MS), [8000]);
});

test('a debug port first, PORT shortly after: never failed', () => {
  const w = new WrongPortWatch();
  assert.equal(w.observe([9229], 3000, 0), null);
  assert.equal(w.observe([3000, 9229], 3000, 500), null, 'PORT plus others is fine');
  assert.equal(w.observe([9229], 3000, 5000), null, 'the count started over: this is a first sight again');
  assert.deepEqual(w.observe([9229], 3000, 5000 + WRONG_PORT_CONFIRM_MS), [9229]);
});

test('a side port first and PORT 3 s later (an app that loads for a while) is not failed', () => {
  const w = new WrongPortWatch();
  assert.equal(w.observe([9100], 3000, 0), null);
  assert.equal(w.observe([9100], 3000, 2500), null, 'still loading, 2.5 s after the side port opened');
  assert.equal(w.observe([9100], 3000, 3000), null);
  assert.equal(w.observe([3000, 9100], 3000, 3250), null, 'PORT is open');
});

test('a check with nothing listening starts the count over, and so does reset', () => {
  const w = new WrongPortWatch();
  w.observe([8000], 3000, 0);
  assert.equal(w.observe([], 3000, 1000), null);
  assert.equal(w.observe([8000], 3000, 1500), null);
  assert.equal(w.observe([8000], 3000, 1500 + WRONG_PORT_CONFIRM_MS - 1), null);
  w.reset();
  assert.equal(w.observe([8000], 3000, 10_000), null);
});

test('the reason names the ports, PORT and the fix', () => {
  assert.equal(wrongPortReason([8000], 3000, false), 'the app listens on 8000, not on 3000 (PORT): read PORT, or publish with --port 8000');
  assert.equal(wrongPortReason([8000, 9229], 3000, false),
    'the app listens on 8000 and 9229, not on 3000 (PORT): read PORT, or publish with --port set to the one that serves HTTP');
  assert.equal(wrongPortReason([8000], 41234, true), 'the app listens on 8000, not on 41234 (PORT): read PORT (this host picks the port)');
});
