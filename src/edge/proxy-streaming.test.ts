import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { defer, type After } from '../../test/support/edge/edge-fixtures.js';
import { get } from '../../test/support/edge/test-helpers.js';
import { dynamicRoute, startProxyEdge, startUpstream } from '../../test/support/edge/upstream-fixtures.js';
import { waitFor } from '../util/wait-for.js';

/** A request to the edge whose body the test writes and whose response it reads itself. */
function open(t: After, port: number, options: { host: string; method?: string }): { req: ClientRequest; response: Promise<IncomingMessage> } {
  const req = request({ host: '127.0.0.1', port, path: '/', method: options.method ?? 'GET', agent: false, headers: { host: options.host } });
  defer(t, () => void req.destroy());
  const response = new Promise<IncomingMessage>((resolve, reject) => req.once('response', resolve).once('error', reject));
  return { req, response };
}

test('a request body streams through: the upstream reads it before the client finishes', async (t) => {
  let firstChunk = false;
  const up = await startUpstream(t, (req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      firstChunk = true;
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => res.end(`${bytes} ${hash.digest('hex')}`));
  });
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const { req, response } = open(t, port, { host: 'app.localhost', method: 'POST' });
  const sent = createHash('sha256');
  const part = Buffer.alloc(1024 * 1024, 7);
  req.write(part);
  sent.update(part);
  await waitFor(() => firstChunk, { description: 'the upstream to see the first chunk while the upload goes on' });
  for (let i = 0; i < 8; i++) {
    const chunk = Buffer.alloc(1024 * 1024, i);
    sent.update(chunk);
    if (!req.write(chunk)) await new Promise((resolve) => req.once('drain', resolve));
  }
  req.end();
  const res = await response;
  let body = '';
  for await (const chunk of res) body += String(chunk);
  assert.equal(res.statusCode, 200);
  assert.equal(body, `${9 * 1024 * 1024} ${sent.digest('hex')}`);
});

test('a streaming response (SSE) reaches the client chunk by chunk', async (t) => {
  let finish: () => void = () => {};
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
    res.write('data: one\n\n');
    void gate.then(() => res.end('data: two\n\n'));
  });
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const { req, response } = open(t, port, { host: 'app.localhost' });
  req.end();
  const res = await response;
  assert.equal(res.headers['content-type'], 'text/event-stream');
  const chunks = res[Symbol.asyncIterator]();
  const first = await chunks.next();
  assert.equal(String(first.value), 'data: one\n\n', 'the first event arrives while the upstream is still open');
  finish();
  let rest = '';
  for (let next = await chunks.next(); !next.done; next = await chunks.next()) rest += String(next.value);
  assert.equal(rest, 'data: two\n\n');
});

test('an upstream that does not answer in time is a 504', async (t) => {
  const up = await startUpstream(t, () => {});
  const { port } = await startProxyEdge(t, [dynamicRoute('slow', [[up.address]])], { upstreamTimeoutMs: 300 });
  const started = Date.now();
  const res = await get(port, '/', { host: 'slow.localhost' });
  assert.equal(res.status, 504);
  assert.ok(Date.now() - started < 5_000);
  assert.equal(up.seen.length, 1, 'a timed-out request is not retried');
});

test('a client that leaves before the response aborts the upstream request', async (t) => {
  let upstreamClosed = false;
  const up = await startUpstream(t, (req) => req.on('close', () => (upstreamClosed = true)));
  // The default 60 s timeout: only the abort can end the upstream request within the wait.
  const { port } = await startProxyEdge(t, [dynamicRoute('slow', [[up.address]])]);
  const { req, response } = open(t, port, { host: 'slow.localhost' });
  response.catch(() => {});
  req.end();
  await waitFor(() => up.seen.length === 1, { description: 'the request to reach the upstream' });
  req.destroy();
  await waitFor(() => upstreamClosed, { description: 'the upstream request to be aborted' });
  assert.equal((await get(port, '/_slipway/health')).status, 200, 'the edge is unaffected');
});

test('an upstream that dies mid-response cuts the client connection, nothing else', async (t) => {
  const up = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('partial');
    setImmediate(() => res.socket?.destroy());
  });
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  await assert.rejects(get(port, '/', { host: 'app.localhost' }));
  assert.equal((await get(port, '/_slipway/health')).status, 200);
});
