import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { removeDir } from '../../util/temp-dir.js';
import { createEngineApi } from './engine-api.js';

test('a JSON request to an engine that accepts but never answers fails unavailable after the default timeout', { timeout: 20_000 }, async () => {
  const dir = await mkdtemp('/tmp/swd-api-');
  const sockets: Socket[] = [];
  // A wedged dockerd: the socket accepts, the request is read, no answer ever comes.
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.resume();
  });
  const socketPath = join(dir, 'docker.sock');
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const api = createEngineApi(socketPath, { jsonTimeoutMs: 300 });
  try {
    const started = Date.now();
    await assert.rejects(
      api.json({ method: 'GET', path: '/containers/json' }),
      (err: Error & { code?: string }) => err.code === 'unavailable' && /did not answer GET \/containers\/json/.test(err.message),
    );
    assert.ok(Date.now() - started < 10_000, 'the request was not bounded');
  } finally {
    for (const socket of sockets) socket.destroy();
    await api.close().catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await removeDir(dir);
  }
});

test('a request whose caller\'s signal aborts fails unavailable at once, long before its timeout', { timeout: 20_000 }, async () => {
  const dir = await mkdtemp('/tmp/swd-api-');
  const sockets: Socket[] = [];
  let accepted!: () => void;
  const reached = new Promise<void>((resolve) => { accepted = resolve; });
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.resume();
    accepted();
  });
  const socketPath = join(dir, 'docker.sock');
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const api = createEngineApi(socketPath);
  const controller = new AbortController();
  try {
    const pending = api.json({ method: 'POST', path: '/build/prune', timeoutMs: 10 * 60_000, signal: controller.signal });
    await reached;
    const started = Date.now();
    controller.abort();
    await assert.rejects(pending, (err: Error & { code?: string }) => err.code === 'unavailable');
    assert.ok(Date.now() - started < 10_000, 'the abort did not end the request');
  } finally {
    for (const socket of sockets) socket.destroy();
    await api.close().catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await removeDir(dir);
  }
});
