import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RouteMessage } from '../core/routes.js';
import { waitFor } from '../util/wait-for.js';
import { silentLogger } from './logger.js';
import { startRouteWatcher } from './route-watcher.js';

test('route messages split across network writes, with CRLF and heartbeats, reach onMessage whole', async (t) => {
  let stream: ServerResponse | undefined;
  let authorization: string | undefined;
  const server = createServer((req, res) => {
    authorization = req.headers.authorization;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': hello\r\n\r\nevent: snapshot\r\ndata: {"type":"snapshot",');
    res.write('"revision":1,"routes":[]}\r\n\r');
    res.write('\n');
    stream = res;
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const messages: RouteMessage[] = [];
  const watcher = startRouteWatcher({
    serverUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    token: 'sk_internal',
    logger: silentLogger,
    onMessage: (m) => messages.push(m),
  });
  t.after(async () => {
    await watcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  await waitFor(() => watcher.connected, { description: 'the snapshot' });
  assert.deepEqual(messages, [{ type: 'snapshot', revision: 1, routes: [] }]);
  assert.equal(authorization, 'Bearer sk_internal');
  // The next message arrives in pieces, a heartbeat first.
  stream?.write(': ping\n\nevent: remove\ndata: {"type":"remove","rev');
  stream?.write('ision":2,"deployment_id":"dep_1"}\n');
  stream?.write('\n');
  await waitFor(() => messages.length === 2, { description: 'the remove message' });
  assert.deepEqual(messages[1], { type: 'remove', revision: 2, deployment_id: 'dep_1' });
});
