import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAffinityConfig, affinityCookie, pinnedUpstream, sharedCacheable, usesAffinity } from './edge-affinity.js';
import { createProxyTarget } from './pick-upstream.js';
import { get } from '../../test/support/edge/test-helpers.js';
import { dynamicRelease, dynamicRoute, startProxyEdge, startUpstream, type TestUpstream } from '../../test/support/edge/upstream-fixtures.js';
import type { After } from '../../test/support/edge/edge-fixtures.js';
import type { TestResponse } from '../../test/support/edge/test-helpers.js';

/** Every Set-Cookie of a response. */
const cookiesOf = (res: TestResponse): string[] => [res.headers['set-cookie'] ?? []].flat();

const config = createAffinityConfig({ cookie: 'edge_affinity', secret: 'internal-token', secure: false });

test('affinity applies only to routes with no sticky rule of their own, and only with two or more instances', () => {
  const two = ['10.1.0.2:3000', '10.1.0.3:3000'];
  assert.equal(usesAffinity(createProxyTarget(dynamicRelease('s', 1, two), null)!), true);
  assert.equal(usesAffinity(createProxyTarget(dynamicRelease('s', 1, two), undefined)!), true);
  assert.equal(usesAffinity(createProxyTarget(dynamicRelease('s', 1, two.slice(0, 1)), null)!), false, 'one instance: nothing to pin');
  assert.equal(usesAffinity(createProxyTarget(dynamicRelease('s', 1, two), 'none')!), false, 'switched off');
  assert.equal(usesAffinity(createProxyTarget(dynamicRelease('s', 1, two), { cookie: 'sid' })!), false, "the app's own rule wins");
});

test('a token names one instance, survives a pool change that keeps it, and says nothing of its address', () => {
  const before = createProxyTarget(dynamicRelease('s', 1, ['10.1.0.2:3000', '10.1.0.3:3000']), null)!;
  const cookie = affinityCookie(before, 1, config);
  assert.match(cookie, /^edge_affinity=[\w-]{22}; Path=\/; HttpOnly; SameSite=Lax$/);
  assert.ok(!cookie.includes('10.1') && !cookie.includes('3000'), 'opaque: no address in it');
  const token = cookie.slice('edge_affinity='.length, cookie.indexOf(';'));
  const header = `theme=dark; edge_affinity=${token}; other=1`;
  assert.equal(pinnedUpstream(before, header, config), 1);
  // Scaled up, the instance moved in the list: the token still finds it.
  const grown = createProxyTarget(dynamicRelease('s', 2, ['10.1.0.1:3000', '10.1.0.2:3000', '10.1.0.3:3000']), null)!;
  assert.equal(pinnedUpstream(grown, header, config), 2);
  // Its instance left the pool: the client is picked anew.
  const shrunk = createProxyTarget(dynamicRelease('s', 3, ['10.1.0.2:3000', '10.1.0.4:3000']), null)!;
  assert.equal(pinnedUpstream(shrunk, header, config), -1);
  assert.equal(pinnedUpstream(before, 'theme=dark', config), -1);
  assert.equal(pinnedUpstream(before, undefined, config), -1);
  // Another platform's secret makes other tokens.
  const other = createAffinityConfig({ cookie: 'edge_affinity', secret: 'another', secure: true });
  assert.equal(pinnedUpstream(createProxyTarget(dynamicRelease('s', 1, ['10.1.0.2:3000', '10.1.0.3:3000']), null)!, header, other), -1);
  assert.match(affinityCookie(before, 0, other), /; Secure$/);
  assert.throws(() => createAffinityConfig({ cookie: 'a b', secret: 'x', secure: false }));
});

/** An instance that says its name and sets a cookie of its own. */
function namedWithCookie(t: After, name: string): Promise<TestUpstream> {
  return startUpstream(t, (_req, res) => {
    res.setHeader('set-cookie', [`app_${name}=1; Path=/`]);
    res.end(name);
  });
}

test('through the edge: a client without the cookie gets one, then stays on that instance; the app keeps its own cookies', async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((name) => namedWithCookie(t, name)));
  const { port, edge, fake } = await startProxyEdge(t, [
    dynamicRoute('app', [ups.map((u) => u.address)]),
    dynamicRoute('off', [ups.map((u) => u.address)], { sticky: 'none' }),
  ], { affinityCookie: 'lb_route' });
  const first = await get(port, '/', { host: 'app.localhost' });
  const setCookies = cookiesOf(first);
  const name = first.body.toString();
  assert.ok(setCookies.includes(`app_${name}=1; Path=/`), "the app's own Set-Cookie is passed on");
  const ours = setCookies.find((c) => c.startsWith('lb_route='));
  assert.ok(ours, `the operator-named affinity cookie is set: ${JSON.stringify(setCookies)}`);
  const jar = ours.slice(0, ours.indexOf(';'));
  for (let i = 0; i < 6; i++) {
    const again = await get(port, '/', { host: 'app.localhost', headers: { cookie: `x=1; ${jar}` } });
    assert.equal(again.body.toString(), name, 'pinned to the instance that answered first');
    assert.ok(!cookiesOf(again).some((c) => c.startsWith('lb_route=')), 'not re-issued while valid');
  }
  // Switched off: plain round-robin, no cookie.
  const off = new Set<string>();
  for (let i = 0; i < 3; i++) {
    const res = await get(port, '/', { host: 'off.localhost', headers: { cookie: jar } });
    off.add(res.body.toString());
    assert.ok(!cookiesOf(res).some((c) => c.startsWith('lb_route=')));
  }
  assert.equal(off.size, 3);
  // The pinned instance leaves the pool: the client is re-picked and given a new cookie.
  const rest = ups.filter((_u, i) => ['a', 'b', 'c'][i] !== name);
  await edge.routes.waitForRevision(fake.upsert(dynamicRoute('app', [rest.map((u) => u.address)])));
  const moved = await get(port, '/', { host: 'app.localhost', headers: { cookie: jar } });
  assert.notEqual(moved.body.toString(), name);
  const reissued = cookiesOf(moved).find((c) => c.startsWith('lb_route='));
  assert.ok(reissued && !reissued.startsWith(`${jar};`), 'a new cookie naming the new instance');
  const next = reissued.slice(0, reissued.indexOf(';'));
  for (let i = 0; i < 3; i++) assert.equal((await get(port, '/', { host: 'app.localhost', headers: { cookie: next } })).body.toString(), moved.body.toString());
});

test('answers a shared cache may store are told apart from the rest', () => {
  const cc = (...values: string[]): string[] => values.flatMap((v) => ['Cache-Control', v]);
  for (const v of ['public', 'public, max-age=0', 's-maxage=60', 'max-age=3600', 'max-age="60", must-revalidate', 'no-cache, max-age=10']) {
    assert.equal(sharedCacheable(cc(v)), true, v);
  }
  for (const v of ['private, max-age=3600', 'public, no-store', 'max-age=0', 'no-cache', 'max-age=x', 'PRIVATE, S-MAXAGE=5']) {
    assert.equal(sharedCacheable(cc(v)), false, v);
  }
  assert.equal(sharedCacheable([]), false, 'no Cache-Control');
  assert.equal(sharedCacheable(['content-type', 'text/plain']), false);
  assert.equal(sharedCacheable(cc('max-age=60', 'private')), false, 'several headers are read together');
});

test('through the edge: an answer a CDN may cache carries no affinity cookie; the next uncacheable one pins the client', async (t) => {
  const ups = await Promise.all(['a', 'b'].map((name) => startUpstream(t, (req, res) => {
    if (req.url === '/asset') res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    else if (req.url === '/private') res.setHeader('cache-control', 'private, max-age=60');
    res.end(name);
  })));
  const { port } = await startProxyEdge(t, [dynamicRoute('app', [ups.map((u) => u.address)])], {});
  for (let i = 0; i < 2; i++) {
    const asset = await get(port, '/asset', { host: 'app.localhost' });
    assert.deepEqual(cookiesOf(asset), [], 'no cookie on a cacheable answer');
  }
  const own = await get(port, '/private', { host: 'app.localhost' });
  const cookie = cookiesOf(own).find((c) => c.startsWith('edge_affinity='));
  assert.ok(cookie, 'a private answer pins the client');
  const jar = cookie.slice(0, cookie.indexOf(';'));
  const page = await get(port, '/', { host: 'app.localhost', headers: { cookie: jar } });
  assert.equal(page.body.toString(), own.body.toString());
});
