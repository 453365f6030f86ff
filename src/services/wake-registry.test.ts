import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WakeRegistry } from './wake-registry.js';

/** A boot the test finishes by hand. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function registry() {
  let now = 1_000_000;
  const r = new WakeRegistry({ idleMs: 10_000, failureHoldMs: 60_000, now: () => now });
  return { r, advance: (ms: number) => (now += ms) };
}

test('one boot per version at a time, however many wakes arrive; the next one may boot again', async () => {
  const { r } = registry();
  const boot = deferred();
  let boots = 0;
  const start = () => r.start('ver_1', () => (boots++, boot.promise));
  const started = Array.from({ length: 50 }, start);
  assert.deepEqual(started.filter(Boolean).length, 1);
  assert.equal(boots, 1);
  assert.ok(r.isBooting('ver_1'));
  // Another version is not held up by the first.
  assert.ok(r.start('ver_2', async () => undefined));
  boot.resolve();
  await r.settled();
  assert.equal(r.isBooting('ver_1'), false);
  assert.ok(start());
  assert.equal(boots, 2);
  await r.settled();
});

test('a failed boot is answered as failed for the hold time, then may be tried again', async () => {
  const { r, advance } = registry();
  r.start('ver_1', () => Promise.reject(new Error('version 1 did not become healthy: exited with code 1')));
  await r.settled();
  assert.equal(r.failure('ver_1'), 'version 1 did not become healthy: exited with code 1');
  advance(59_999);
  assert.ok(r.failure('ver_1'));
  advance(1);
  assert.equal(r.failure('ver_1'), undefined);
  // A success clears what an earlier attempt left.
  r.start('ver_1', async () => undefined);
  await r.settled();
  assert.equal(r.failure('ver_1'), undefined);
});

test('a version is idle only after the idle time with no request and never while booting', async () => {
  const { r, advance } = registry();
  // Unknown (a restarted server): the idle clock starts now instead of stopping it at once.
  assert.equal(r.isIdle('ver_1'), false);
  advance(9_999);
  assert.equal(r.isIdle('ver_1'), false);
  r.touch('ver_1');
  advance(9_999);
  assert.equal(r.isIdle('ver_1'), false);
  advance(1);
  assert.equal(r.isIdle('ver_1'), true);
  const boot = deferred();
  r.start('ver_1', () => boot.promise);
  advance(20_000);
  assert.equal(r.isIdle('ver_1'), false, 'a boot that takes longer than the idle time is not cut');
  boot.resolve();
  await r.settled();
  // The end of a boot counts as use: the first visitor gets its page before the clock runs out.
  assert.equal(r.isIdle('ver_1'), false);
  advance(10_000);
  assert.equal(r.isIdle('ver_1'), true);
  r.forget('ver_1');
  assert.equal(r.isIdle('ver_1'), false);
});

test('idle clocks of versions with no on-demand instance are pruned once idle', () => {
  const { r, advance } = registry();
  r.touch('ver_replicas');
  r.touch('ver_woken');
  advance(10_000);
  r.touch('ver_recent');
  r.prune(new Set(['ver_woken']));
  // A pruned clock starts again when asked: not idle at once.
  assert.equal(r.isIdle('ver_replicas'), false);
  assert.equal(r.isIdle('ver_woken'), true, 'kept: its instances are due to stop');
  advance(9_999);
  assert.equal(r.isIdle('ver_recent'), false);
});
