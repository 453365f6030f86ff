import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { waitFor } from '../util/wait-for.js';
import { withTempDir } from '../util/temp-dir.js';
import { createControlPlaneClient } from './control-plane-client.js';
import { LogShipper, type ShipLines } from './log-shipper.js';

/** The server's log endpoint, as the agent sees it: refuses while `down`, else keeps each line it took. */
interface LogEndpoint {
  url: string;
  /** Every line accepted, in the order it came. */
  accepted: string[];
  /** POSTs answered 500 because the endpoint was down. */
  refused: number;
  down: boolean;
  /** Connections dropped unanswered because the endpoint was dead. */
  dropped: number;
  /** Drops every open and new connection unanswered, as a server that is gone would. */
  kill(): void;
  /** Answers connections again. */
  revive(): void;
}

async function startLogEndpoint(t: TestContext): Promise<LogEndpoint> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (endpoint.down) {
        endpoint.refused++;
        res.writeHead(500).end('{"error":{"code":"internal_error"}}');
        return;
      }
      const { lines } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { lines: Array<{ line: string }> };
      endpoint.accepted.push(...lines.map((l) => l.line));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{}}');
    });
  });
  // "Dead" keeps the port: closing and listening again on an ephemeral port races any other
  // test that is handed the same port meanwhile (EADDRINUSE).
  let dead = false;
  server.on('connection', (socket) => {
    if (!dead) return;
    endpoint.dropped++;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  const port = (server.address() as AddressInfo).port;
  const endpoint: LogEndpoint = {
    url: `http://127.0.0.1:${port}`, accepted: [], refused: 0, down: false, dropped: 0,
    kill: () => {
      dead = true;
      // Kept-alive connections would otherwise still reach the handler.
      server.closeAllConnections();
    },
    revive: () => { dead = false; },
  };
  return endpoint;
}

test('every line arrives exactly once and in order across a refusing server, a dead server and an agent restart', (t) => withTempDir(async (dir) => {
  const endpoint = await startLogEndpoint(t);
  const client = createControlPlaneClient({ serverUrl: endpoint.url, token: 'test-token', hostId: 'local' });
  const failures = { count: 0 };
  const ship: ShipLines = async (lines) => {
    const outcome = await client.shipLogs('rti_x', lines);
    if (outcome === 'failed') failures.count++;
    return outcome;
  };
  const logPath = join(dir, 'rti_x.log');
  const settle = { timeoutMs: 5_000 };
  await writeFile(logPath, 'one\ntwo\npart');
  const first = new LogShipper({ logPath, ship, intervalMs: 20 });
  t.after(() => first.detach());
  first.start();
  await waitFor(() => endpoint.accepted.length >= 2, { ...settle, description: 'the first lines' });
  assert.deepEqual(endpoint.accepted, ['one', 'two'], 'an unterminated line waits for its end');

  // The server answers 500: the lines written meanwhile wait in the file through several refusals.
  endpoint.down = true;
  await appendFile(logPath, 'ial\nthree\n');
  await waitFor(() => endpoint.refused >= 2, { ...settle, description: 'a second refused attempt (lines dropped on failure are never retried)' });
  // The server is gone altogether: connections drop unanswered, more lines written.
  endpoint.kill();
  const failedBefore = failures.count;
  await appendFile(logPath, 'four\n');
  await waitFor(() => failures.count >= failedBefore + 2 && endpoint.dropped >= 2, { ...settle, description: 'a second attempt with the server gone' });
  assert.deepEqual(endpoint.accepted, ['one', 'two'], 'nothing is taken while the server is away');

  endpoint.revive();
  endpoint.down = false;
  await appendFile(logPath, 'five\n');
  await waitFor(() => endpoint.accepted.length >= 6, { ...settle, description: 'the held lines after the outage' });
  // The offset is saved just after the lines go out: the next agent starts once it is.
  const shippedTo = String((await stat(logPath)).size);
  await waitFor(async () => (await readFile(`${logPath}.offset`, 'utf8').catch(() => '')) === shippedTo, { ...settle, description: 'the saved offset' });
  first.detach();

  // A new agent continues from the saved offset.
  await appendFile(logPath, 'six\n');
  const second = new LogShipper({ logPath, ship, intervalMs: 20 });
  t.after(() => second.detach());
  second.start();
  await waitFor(() => endpoint.accepted.length >= 7, { ...settle, description: 'the line after the agent restart' });
  await second.finish();
  assert.deepEqual(endpoint.accepted, ['one', 'two', 'partial', 'three', 'four', 'five', 'six'], 'each line exactly once, in order');
}));

test('empties the file once everything in it is shipped and it passed the bound', (t) => withTempDir(async (dir) => {
  const logPath = join(dir, 'rti_y.log');
  await writeFile(logPath, 'x'.repeat(99) + '\n'.repeat(1) + 'y\n');
  const shipped: string[] = [];
  const shipper = new LogShipper({ logPath, ship: async (lines) => { shipped.push(...lines.map((l) => l.line)); return 'ok'; }, intervalMs: 20, maxFileBytes: 50 });
  t.after(() => shipper.detach());
  shipper.start();
  await waitFor(async () => shipped.length === 2 && (await stat(logPath)).size === 0);
  await appendFile(logPath, 'z\n');
  await waitFor(() => shipped.length === 3);
  assert.equal(shipped[2], 'z');
  // The offset is saved just after the lines go out: wait for it rather than race the write.
  await waitFor(async () => (await readFile(`${logPath}.offset`, 'utf8').catch(() => '')) === '2');
  shipper.detach();
}));
