import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { silentLogger } from './logger.js';
import { createTlsListener, type TlsListener, type TlsListenerConfig } from './tls-listener.js';
import { SniTable } from './tls-sni-table.js';
import type { UpgradeHandler } from './upgrade-handler.js';

/** Upgrades are not what these tests are about: none is made. */
const noUpgrades = { handle: () => undefined, refuseConnect: () => undefined } as unknown as UpgradeHandler;

async function withListener(extra: Partial<TlsListenerConfig>, run: (port: number, listener: TlsListener) => Promise<void>): Promise<void> {
  const listener = createTlsListener({
    port: 0, host: '127.0.0.1', table: new SniTable(), logger: silentLogger, upgrades: noUpgrades,
    handler: (_req, res) => res.end('ok'), ...extra,
  });
  const { port } = await listener.start();
  try {
    await run(port, listener);
  } finally {
    await listener.close(0);
  }
}

/** One handshake with SNI `servername` (the placeholder certificate is accepted), then closed. */
function handshake(port: number, servername: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      socket.destroy();
      resolve();
    });
    socket.on('error', reject);
  });
}

test('a flood of SNI names the edge does not serve never keeps a served host from the unknown-host hook', async () => {
  const asked: string[] = [];
  const served = 'shop.example.test';
  await withListener({ wants: (host) => host === served, onUnknownHost: (host) => void asked.push(host) }, async (port) => {
    // More made-up names than the unknown-host bound (1024) holds, a few at a time.
    for (let i = 0; i < 2000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => handshake(port, `made-up-${i + j}.example.test`)));
    }
    await handshake(port, served);
  });
  assert.deepEqual(asked, [served], 'only the served host reached the hook');
});

test('a host the hook declined (not served yet) is asked about again on its next handshake', async () => {
  const asked: string[] = [];
  // Declines the first time, as the default hook does for a host not yet in the route table.
  const hook = (host: string) => (asked.push(host) === 1 ? undefined : Promise.resolve());
  await withListener({ onUnknownHost: hook }, async (port) => {
    await handshake(port, 'new.example.test');
    await handshake(port, 'new.example.test');
  });
  assert.deepEqual(asked, ['new.example.test', 'new.example.test']);
});

test('close() cuts a connection that never finished its TLS handshake once the grace is over', async () => {
  const silent: Socket[] = [];
  const listener = createTlsListener({
    port: 0, host: '127.0.0.1', table: new SniTable(), logger: silentLogger, upgrades: noUpgrades, handler: (_req, res) => res.end('ok'),
  });
  const { port } = await listener.start();
  try {
    // TCP open, not a byte of TLS: without the cut, close() waits for node's handshake timeout.
    const socket = connectTcp({ host: '127.0.0.1', port });
    silent.push(socket);
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = await Promise.race([
      listener.close(100).then(() => true),
      new Promise<false>((resolve) => setTimeout(resolve, 8_000, false).unref()),
    ]);
    assert.equal(closed, true, 'close() returned within its grace (8 s allowed for a loaded machine)');
    await new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
  } finally {
    for (const socket of silent) socket.destroy();
    await listener.close(0);
  }
});
