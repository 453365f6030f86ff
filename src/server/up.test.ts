import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RuntimeCapabilities } from '../runtime/runtime-driver.js';
import { prepareInstanceNetwork } from './up.js';

const failing = (isolatedNetwork: boolean) => ({
  capabilities: { isolatedNetwork } as RuntimeCapabilities,
  prepare: () => Promise.reject(new Error('nft: permission denied')),
});

test('with isolated networking, a failed instance-network prepare stops up before the edge starts', async () => {
  const printed: string[] = [];
  await assert.rejects(prepareInstanceNetwork(failing(true), (line) => printed.push(line)), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'isolation_unavailable');
    assert.match(err.message, /blackhole route.*nft: permission denied/);
    return true;
  });
});

test('with plain processes, a failed prepare only warns', async () => {
  const printed: string[] = [];
  await prepareInstanceNetwork(failing(false), (line) => printed.push(line));
  assert.match(printed.join('\n'), /could not prepare the instance network before the edge: nft: permission denied/);
});
