import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedMutex } from './keyed-mutex.js';

test('same key runs in arrival order, one at a time', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  let running = 0;
  const job = (name: string, ms: number) =>
    m.run('k', async () => {
      running++;
      assert.equal(running, 1);
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      running--;
    });
  await Promise.all([job('a', 20), job('b', 1), job('c', 5)]);
  assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
});

test('different keys run in parallel and a throwing holder releases the lock', async () => {
  const m = new KeyedMutex();
  let release!: () => void;
  const blocker = m.run('a', () => new Promise<void>((r) => (release = r)));
  assert.equal(await m.run('b', async () => 'b ran'), 'b ran');
  release();
  await blocker;
  await assert.rejects(m.run('a', async () => { throw new Error('boom'); }), /boom/);
  assert.equal(await m.run('a', async () => 'after'), 'after');
});
