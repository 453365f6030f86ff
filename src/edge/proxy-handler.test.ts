import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { defer } from '../../test/support/edge/edge-fixtures.js';
import { get } from '../../test/support/edge/test-helpers.js';
import { closedAddress, deadAddress, dynamicRoute, startNamedUpstream, startProxyEdge, startUpstream } from '../../test/support/edge/upstream-fixtures.js';

test('a dynamic route proxies round-robin to its instances and is never downloaded', async (t) => {
  const [a, b, old] = await Promise.all(['a', 'b', 'old'].map((name) => startNamedUpstream(t, name)));
  const { fake, port } = await startProxyEdge(t, [dynamicRoute('app', [[old!.address], [a!.address, b!.address]])]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  defer(t, () => agent.destroy());
  const bodies: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await get(port, `/path?i=${i}`, { host: 'app.localhost', agent });
    assert.equal(res.status, 200);
    bodies.push(res.body.toString());
  }
  assert.deepEqual(bodies.slice(0, 2).sort(), ['a', 'b']);
  for (let i = 2; i < 6; i++) assert.notEqual(bodies[i], bodies[i - 1], 'consecutive requests alternate');
  assert.equal(a!.seen[0]?.url, '/path?i=0', 'the request target is passed on as is');
  // Preview hosts proxy to their own version's instances.
  assert.equal((await get(port, '/', { host: 'v1--app.localhost' })).body.toString(), 'old');
  assert.match((await get(port, '/', { host: 'v2--app.localhost' })).body.toString(), /^[ab]$/);
  assert.equal(fake.blobRequests.size, 0, 'no release download for a dynamic route');
});

test('sticky routes pin a cookie or header value to one instance; others round-robin', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((name) => startNamedUpstream(t, name)));
  const addresses = ups.map((u) => u.address);
  const { port } = await startProxyEdge(t, [
    dynamicRoute('cookie', [addresses], { sticky: { cookie: 'sid' } }),
    dynamicRoute('header', [addresses], { sticky: { header: 'X-Session' } }),
  ]);
  const chosen = new Set<string>();
  for (let s = 0; s < 12; s++) {
    const viaCookie = new Set<string>();
    const viaHeader = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const cookie = `theme=dark; sid=user-${s}; other=${i}`;
      viaCookie.add((await get(port, '/', { host: 'cookie.localhost', headers: { cookie } })).body.toString());
      viaHeader.add((await get(port, '/', { host: 'header.localhost', headers: { 'x-session': `user-${s}` } })).body.toString());
    }
    assert.equal(viaCookie.size, 1, `sid=user-${s} always reaches one instance`);
    assert.equal(viaHeader.size, 1, `X-Session: user-${s} always reaches one instance`);
    chosen.add([...viaCookie][0] as string);
  }
  assert.ok(chosen.size >= 2, 'different sessions spread over instances');
  const unpinned = new Set<string>();
  for (let i = 0; i < 3; i++) unpinned.add((await get(port, '/', { host: 'cookie.localhost', headers: { cookie: 'theme=dark' } })).body.toString());
  assert.equal(unpinned.size, 3, 'requests without the cookie are round-robined');
});

test('forwarding headers: X-Forwarded-*, the original Host, hop-by-hop stripped both ways', async (t) => {
  const up = await startUpstream(t, (req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json', 'x-private': '1', connection: 'x-private', 'keep-alive': 'timeout=99',
      'proxy-authenticate': 'Basic', 'set-cookie': ['a=1', 'b=2'],
    });
    res.end(JSON.stringify(req.headers));
  });
  const route = dynamicRoute('app', [[up.address]]);
  const { port } = await startProxyEdge(t, [route]);
  const res = await get(port, '/', {
    host: 'App.localhost:8080',
    headers: {
      'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example', te: 'trailers',
      'proxy-authorization': 'Basic eA==', connection: 'keep-alive, x-drop', 'x-drop': '1', 'x-keep': 'yes',
      forwarded: 'for=6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-forwarded-port': '6666',
    },
  });
  const seen = JSON.parse(res.body.toString()) as Record<string, string>;
  assert.equal(seen.host, 'App.localhost:8080');
  assert.equal(seen['x-forwarded-for'], '127.0.0.1', "the client's own chain is not trusted");
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'App.localhost:8080');
  assert.equal(seen['x-keep'], 'yes');
  for (const name of ['te', 'proxy-authorization', 'x-drop', 'forwarded', 'x-real-ip', 'x-forwarded-port']) {
    assert.equal(seen[name], undefined, `${name} not forwarded`);
  }
  assert.equal(res.headers['x-private'], undefined, 'a header the upstream named in Connection is dropped');
  assert.equal(res.headers['proxy-authenticate'], undefined);
  assert.notEqual(res.headers['keep-alive'], 'timeout=99', "the upstream's keep-alive is its own");
  assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);

  const tls = await startProxyEdge(t, [route], { forwardedProto: 'https' });
  const behindTls = JSON.parse((await get(tls.port, '/', { host: 'app.localhost' })).body.toString()) as Record<string, string>;
  assert.equal(behindTls['x-forwarded-proto'], 'https');
  assert.equal(behindTls['x-forwarded-for'], '127.0.0.1');
});

test('no instances: 503 with Retry-After; refused: another instance, else 503, never 502', async (t) => {
  const good = await startNamedUpstream(t, 'good');
  const dead = await closedAddress();
  const { port } = await startProxyEdge(t, [
    dynamicRoute('empty', [[]]),
    dynamicRoute('dead', [[dead]]),
    dynamicRoute('half', [[dead, good.address]]),
  ]);
  const empty = await get(port, '/', { host: 'empty.localhost' });
  assert.equal(empty.status, 503);
  assert.equal(empty.headers['retry-after'], '1');
  // A refused connect means the instance is gone: the request was never sent, so 503, not 502.
  const refused = await get(port, '/', { host: 'dead.localhost' });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers['retry-after'], '1');
  assert.ok(refused.body.length < 200, 'a small body');
  assert.equal(refused.headers['cache-control'], 'no-store');
  const post = await get(port, '/', { host: 'dead.localhost', method: 'POST', headers: { 'content-length': '0' } });
  assert.equal(post.status, 503);
  for (let i = 0; i < 4; i++) {
    const res = await get(port, '/', { host: 'half.localhost' });
    assert.equal(res.status, 200, 'a GET refused by one instance is retried on the other');
    assert.equal(res.body.toString(), 'good');
  }
  assert.equal((await get(port, '/_slipway/health')).status, 200);
});

test('a request whose instances all fail more slowly than a mark lasts gets 503 once each was tried, not a loop', { timeout: 30_000 }, async (t) => {
  // A mark of 0 ms has run out before the next pick: what a 3 s EHOSTUNREACH does to a 1 s mark.
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[await deadAddress(), await deadAddress()]])], { upstreamDownMs: 0 });
  const res = await get(port, '/', { host: 'app.localhost' });
  assert.equal(res.status, 503);
  assert.equal(res.headers['retry-after'], '1');
});

test('an instance that dies leaves the pool at once: no request is sent to it again, bodies included', async (t) => {
  const a = await startNamedUpstream(t, 'a');
  const b = await startNamedUpstream(t, 'b');
  // Long enough that the mark cannot run out under a slow test machine.
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [[a.address, b.address]])], { upstreamDownMs: 60_000 });
  const seen = new Set<string>();
  for (let i = 0; i < 2; i++) seen.add((await get(port, '/', { host: 'app.localhost' })).body.toString());
  assert.deepEqual([...seen].sort(), ['a', 'b']);
  // Killed: its port refuses from now on, and the route still names it (no change came yet).
  a.server.closeAllConnections();
  await new Promise<void>((resolve) => a.server.close(() => resolve()));
  const first = await get(port, '/', { host: 'app.localhost' });
  const second = await get(port, '/', { host: 'app.localhost' });
  assert.deepEqual([first.status, second.status], [200, 200], 'the GET that found it dead went to the other');
  // A request with a body cannot be replayed: only skipping the dead address saves it.
  for (let i = 0; i < 4; i++) {
    const res = await get(port, '/', { host: 'app.localhost', method: 'POST', headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' } });
    assert.equal(res.status, 200, `POST ${i} went to the live instance`);
    assert.equal(res.body.toString(), 'b');
  }
});
