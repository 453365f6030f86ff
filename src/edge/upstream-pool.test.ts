import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from './logger.js';
import { UpstreamPools } from './upstream-pool.js';

test('a pool leaves only when no route names it, nothing is in flight, and it stayed idle', async (t) => {
  const inUse = new Set(['10.0.0.1:80', '10.0.0.2:80']);
  // A huge idle time keeps the interval sweeper out of the way: sweeps run by hand.
  const pools = new UpstreamPools({ inUse: () => inUse, logger: silentLogger, idleCloseMs: 1_000_000 });
  t.after(() => pools.close());
  const one = pools.acquire('10.0.0.1:80');
  const two = pools.acquire('10.0.0.2:80');
  assert.equal(pools.acquire('10.0.0.1:80'), one, 'one pool per address, shared');
  assert.equal(pools.inflight('10.0.0.1:80'), 2);
  pools.release(two);

  inUse.clear();
  for (const now of [1, 2_000_000, 4_000_000]) pools.sweep(now);
  assert.deepEqual(pools.addresses(), ['10.0.0.1:80'], 'the idle pool went; the busy one drains');
  assert.equal(two.pool.closed, true);
  assert.equal(one.pool.closed, false);

  pools.release(one);
  pools.release(one);
  pools.sweep(5_000_000);
  assert.deepEqual(pools.addresses(), ['10.0.0.1:80'], 'idle time counts from the first idle sweep');
  inUse.add('10.0.0.1:80');
  pools.sweep(7_000_000);
  inUse.clear();
  pools.sweep(8_000_000);
  assert.deepEqual(pools.addresses(), ['10.0.0.1:80'], 'being named again resets the idle clock');
  pools.sweep(9_000_000);
  assert.deepEqual(pools.addresses(), []);
  assert.notEqual(pools.acquire('10.0.0.1:80'), one, 'a returning address gets a fresh pool');
});
