import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InstanceHandle, RuntimeDriver, StartInstanceSpec } from '../runtime/runtime-driver.js';
import { waitFor } from '../util/wait-for.js';
import { limitStarts } from './start-limit.js';

/** A driver whose starts finish only when the test lets them, with state behind `this`. */
class HeldDriver {
  readonly name = 'held';
  inFlight = 0;
  most = 0;
  readonly #pending: Array<() => void> = [];
  async start(spec: StartInstanceSpec): Promise<InstanceHandle> {
    this.inFlight++;
    this.most = Math.max(this.most, this.inFlight);
    await new Promise<void>((resolve) => this.#pending.push(resolve));
    this.inFlight--;
    return { id: spec.id, address: '127.0.0.1:1', port: 1, startedAt: Date.now(), data: {} };
  }
  finishOne(): boolean {
    const next = this.#pending.shift();
    next?.();
    return next !== undefined;
  }
  async list(): Promise<InstanceHandle[]> {
    // Reads a private field: throws unless called on the driver itself.
    return this.#pending.length > 99 ? [] : [];
  }
}

test('starts run in parallel up to the bound, the rest wait their turn in order', async () => {
  const held = new HeldDriver();
  const driver = limitStarts(held as unknown as RuntimeDriver, 3);
  const order: string[] = [];
  const starts = Array.from({ length: 8 }, (_, i) => driver.start({ id: `rti_${i}` } as StartInstanceSpec).then((h) => order.push(h.id)));
  await waitFor(() => held.inFlight === 3, { description: 'three starts in flight' });
  for (let done = 1; done <= 8; done++) {
    assert.ok(held.finishOne());
    await waitFor(() => order.length === done && held.inFlight === Math.min(3, 8 - done), { description: `start ${done} done, the next in its slot` });
  }
  await Promise.all(starts);
  assert.equal(held.most, 3, 'never more than the bound, and the bound used');
  assert.deepEqual(order, Array.from({ length: 8 }, (_, i) => `rti_${i}`), 'in the order asked');
  // Members other than start are the driver's own, called on it (private fields work).
  assert.deepEqual(await driver.list(), []);
  assert.equal(driver.name, 'held');
});
