import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processAlive } from '../util/process-alive.js';
import { waitFor } from '../util/wait-for.js';
import { DETACH_MESSAGE, DETACHED_MESSAGE } from './supervisor.js';

const mainTs = fileURLToPath(new URL('../main.ts', import.meta.url));

test('a supervised edge ignores SIGINT (a Ctrl-C reaches the whole group; up decides whether it stops)', async () => {
  const home = await mkdtemp(join(tmpdir(), 'slipway-edge-sigint-'));
  // Made by the server's home preparation in a real start.
  await mkdir(join(home, 'edge'));
  const edge = fork(mainTs, ['edge'], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: {
      ...process.env, SLIPWAY_HOME: home, SLIPWAY_HTTP_PORT: '0', SLIPWAY_HTTP_HOST: '127.0.0.1',
      // Loopback port 1: nothing listens; the edge keeps retrying its route stream, which is fine.
      SLIPWAY_INTERNAL_TOKEN: 'test-token', SLIPWAY_SERVER_URL: 'http://127.0.0.1:1',
    },
  });
  try {
    let answers = 0;
    edge.on('message', (message) => {
      if ((message as { type?: string }).type === DETACHED_MESSAGE.type) answers++;
    });
    // Answered once the edge runs supervised (its handlers are set; a message before is lost).
    await waitFor(() => {
      if (answers === 0 && edge.connected) edge.send(DETACH_MESSAGE);
      return answers > 0;
    }, { timeoutMs: 60_000, intervalMs: 200, description: 'the edge to start and answer' });
    const exited = new Promise<never>((_, reject) => {
      edge.once('exit', (code, signal) => reject(new Error(`the edge exited (${signal ?? code})`)));
    });
    exited.catch(() => undefined);
    edge.kill('SIGINT');
    // An IPC round trip after the signal: answered only by an edge that outlived it.
    const before = answers;
    edge.send(DETACH_MESSAGE);
    await Promise.race([waitFor(() => answers > before, { description: 'an answer after SIGINT' }), exited]);
    assert.ok(processAlive(edge.pid!));
  } finally {
    if (edge.exitCode === null && edge.signalCode === null) edge.kill('SIGTERM');
    await waitFor(() => !processAlive(edge.pid!), { timeoutMs: 30_000, description: 'the edge to exit' });
    await rm(home, { recursive: true, force: true });
  }
});
