import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dynamicRoute, rawClient, startProxyEdge, startUpstream } from '../../test/support/edge/upstream-fixtures.js';

/** The bodies of the responses in `text`, each `answer <url>`, in order. */
function answers(text: string): string[] {
  return [...text.matchAll(/answer (\/[a-z])/g)].map((m) => m[1] as string);
}

/** Sends `requests` in one write on one connection and returns what came back once it closed. */
async function pipeline(t: Parameters<typeof rawClient>[0], port: number, requests: string[]): Promise<string> {
  const client = await rawClient(t, port, requests.join(''));
  await client.closed;
  return client.received().toString('latin1');
}

const request = (path: string, version: string, extra = '') => `GET ${path} HTTP/${version}\r\nHost: app.localhost\r\n${extra}\r\n`;

test('pipelined requests: every request that reaches the app gets its answer, in order', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    // Answers out of order, so the edge must keep them in order itself.
    setTimeout(() => res.end(`answer ${req.url}`), req.url === '/a' ? 30 : 0);
  });
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const cases: Array<{ name: string; requests: string[]; answered: string[] }> = [
    // HTTP/1.0 without keep-alive is one request per connection: the first is answered, then it closes.
    { name: 'HTTP/1.0', requests: [request('/a', '1.0'), request('/b', '1.0')], answered: ['/a'] },
    { name: 'Connection: close', requests: [request('/a', '1.1', 'Connection: close\r\n'), request('/b', '1.1')], answered: ['/a'] },
    {
      name: 'HTTP/1.0 keep-alive',
      requests: [request('/a', '1.0', 'Connection: keep-alive\r\n'), request('/b', '1.0', 'Connection: keep-alive\r\n'), request('/c', '1.0')],
      answered: ['/a', '/b', '/c'],
    },
    { name: 'HTTP/1.1', requests: [request('/a', '1.1'), request('/b', '1.1'), request('/c', '1.1', 'Connection: close\r\n')], answered: ['/a', '/b', '/c'] },
  ];
  for (const { name, requests, answered } of cases) {
    const before = up.seen.length;
    const text = await pipeline(t, port, requests);
    assert.deepEqual(answers(text), answered, name);
    assert.doesNotMatch(text, / 400 /, `${name}: no 400 for the requests after the last`);
    assert.deepEqual(up.seen.slice(before).map((r) => r.url), answered, `${name}: the app ran only what was answered`);
  }
});

test('a malformed request pipelined behind a proxied one: the first is answered, then 400 and close', async (t) => {
  const up = await startUpstream(t, (req, res) => setTimeout(() => res.end(`answer ${req.url}`), 30));
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  for (const version of ['1.0', '1.1']) {
    const extra = version === '1.0' ? 'Connection: keep-alive\r\n' : '';
    const text = await pipeline(t, port, [request('/a', version, extra), request('/b', version, extra), 'NOT HTTP AT ALL\r\n\r\n']);
    assert.deepEqual(answers(text), ['/a', '/b'], `HTTP/${version}`);
    assert.match(text, /answer \/bHTTP\/1\.1 400 Bad Request\r\n/, 'the 400 comes after the answers, in order');
  }
  assert.deepEqual(up.seen.map((r) => r.url), ['/a', '/b', '/a', '/b']);
});

test('requests pipelined behind a 400 never run; CONNECT and 100 Continue wait for the answers before them', async (t) => {
  const up = await startUpstream(t, (req, res) => setTimeout(() => res.end(`answer ${req.url}`), 30));
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[up.address]])]);
  const then = request('/c', '1.1');
  for (const refused of ['GET /b HTTP/1.1\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: app.localhost:abc\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: app.localhost\r\nHost: x\r\n\r\n']) {
    const text = await pipeline(t, port, [request('/a', '1.1'), refused, then]);
    assert.deepEqual(answers(text), ['/a'], JSON.stringify(refused));
    assert.match(text, /answer \/aHTTP\/1\.1 400 Bad Request\r\n/);
  }
  assert.deepEqual(up.seen.map((r) => r.url), ['/a', '/a', '/a'], 'nothing after a 400 reached the app');

  const connect = await pipeline(t, port, [request('/a', '1.1'), 'CONNECT app.localhost:443 HTTP/1.1\r\nHost: app.localhost:443\r\n\r\n']);
  assert.match(connect, /answer \/aHTTP\/1\.1 400 Bad Request\r\n/, 'CONNECT is refused after the answer before it');

  const expect = 'POST /b HTTP/1.1\r\nHost: nope.localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
  const continued = await pipeline(t, port, [request('/a', '1.1'), expect]);
  assert.match(continued, /answer \/aHTTP\/1\.1 404 Not Found\r\n(?:[^\r]+\r\n)+\r\n<!doctype html>/, 'the 404 is not split by a 100 Continue');
});
