// The listening connection against a real PostgreSQL (SLIPWAY_TEST_DATABASE_URL), reached
// through a TCP relay the test can freeze: a connection that goes silent without closing.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { test } from 'node:test';
import pg from 'pg';
import { testDatabaseUrl } from '../../../test/support/test-store.js';
import { waitFor } from '../../util/wait-for.js';
import { createPostgresChannel } from './postgres-channel.js';

const skip = testDatabaseUrl ? false : 'needs PostgreSQL (SLIPWAY_TEST_DATABASE_URL)';

/** Relays TCP to `target`; `freeze()` stops moving bytes on the connections open so far. */
async function relay(target: URL) {
  const pairs: Array<[Socket, Socket]> = [];
  let frozenUpTo = 0;
  const server = createServer((inbound) => {
    const outbound = connect(Number(target.port || 5432), target.hostname);
    const pair: [Socket, Socket] = [inbound, outbound];
    const index = pairs.push(pair);
    // Bytes of a frozen pair are dropped: neither side hears anything, nor a close.
    inbound.on('data', (d) => { if (index > frozenUpTo) outbound.write(d); });
    outbound.on('data', (d) => { if (index > frozenUpTo) inbound.write(d); });
    for (const s of pair) s.on('error', () => undefined);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    port: address.port,
    freeze: () => { frozenUpTo = pairs.length; },
    close: async () => {
      for (const pair of pairs) for (const s of pair) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

test('a listening connection that goes silent is noticed by the heartbeat, reopened, and hears again', { skip }, async (t) => {
  const target = new URL(testDatabaseUrl!);
  const proxy = await relay(target);
  t.after(() => proxy.close());
  const viaProxy = new URL(testDatabaseUrl!);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  const pool = new pg.Pool({ connectionString: testDatabaseUrl, max: 2 });
  t.after(() => pool.end());
  const channel = createPostgresChannel(pool, viaProxy.href, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300 });
  const heard: string[] = [];
  const errors: Error[] = [];
  let reconnects = 0;
  const stop = await channel.listen('slipway_channel_test', {
    onMessage: (payload) => heard.push(payload),
    onError: (err) => errors.push(err),
    onReconnect: () => reconnects++,
  });
  t.after(stop);
  await channel.notify('slipway_channel_test', 'before');
  await waitFor(() => heard.includes('before'), { description: 'the first notification' });

  proxy.freeze();
  await waitFor(() => reconnects > 0, { timeoutMs: 5000, description: 'the silent connection to be noticed and reopened' });
  assert.match(String(errors[0]?.message), /did not answer/);
  await channel.notify('slipway_channel_test', 'after');
  await waitFor(() => heard.includes('after'), { description: 'a notification on the new connection' });
});
