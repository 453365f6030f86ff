import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { parseRouteMessage } from './route-message.js';
import { cookieValue, createProxyTarget, markUpstreamDown, pickUpstream } from './pick-upstream.js';
import { dynamicRelease, dynamicRoute } from '../../test/support/edge/upstream-fixtures.js';

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

test('cookieValue finds one cookie among many', () => {
  assert.equal(cookieValue('a=1; sid=abc; b=2', 'sid'), 'abc');
  assert.equal(cookieValue('sid=abc', 'sid'), 'abc');
  assert.equal(cookieValue('xsid=1; sid = two ', 'sid'), 'two');
  assert.equal(cookieValue('a=1; sid=', 'sid'), undefined);
  assert.equal(cookieValue('a=1', 'sid'), undefined);
});

test('rendezvous stickiness moves only the sessions of a removed instance', () => {
  const four = ['i1:1', 'i2:1', 'i3:1', 'i4:1'];
  const sticky = { header: 'X-User' };
  const before = createProxyTarget(dynamicRelease('s', 1, four), sticky)!;
  const after = createProxyTarget(dynamicRelease('s', 2, four.filter((a) => a !== 'i3:1')), sticky)!;
  let moved = 0;
  const counts = new Map<string, number>();
  for (let u = 0; u < 400; u++) {
    const req = request({ 'x-user': `user-${u}` });
    const was = four[pickUpstream(before, req)] as string;
    const now = after.upstreams[pickUpstream(after, req)] as string;
    counts.set(was, (counts.get(was) ?? 0) + 1);
    if (was !== now) {
      moved++;
      assert.equal(was, 'i3:1', 'only sessions of the removed instance move');
    }
  }
  assert.equal(moved, counts.get('i3:1'));
  for (const address of four) assert.ok((counts.get(address) ?? 0) > 50, `${address} gets a fair share`);
  assert.equal(pickUpstream(createProxyTarget(dynamicRelease('s', 3, []), null)!, request({})), -1);
});

test('route messages accept the dynamic fields and refuse bad ones', () => {
  const route = dynamicRoute('app', [['127.0.0.1:3000', 'app-1.internal:8080', '[::1]:9000']], { sticky: { cookie: 'sid' } });
  const ok = parseRouteMessage(JSON.stringify({ type: 'upsert', revision: 1, route }));
  assert.deepEqual(ok, { type: 'upsert', revision: 1, route });
  const bad = [
    { ...route, sticky: { cookie: 'a b' } },
    { ...route, sticky: { cookie: 'a', header: 'b' } },
    { ...route, active: { ...route.active, kind: 'lambda' } },
    ...['127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', 'user@host:80', 'host:80/path', 'a:1 b:2', ''].map((address) => ({
      ...route, versions: [dynamicRelease('app', 1, [address])],
    })),
  ];
  for (const r of bad) {
    assert.throws(() => parseRouteMessage(JSON.stringify({ type: 'upsert', revision: 1, route: r })), /malformed/, JSON.stringify(r));
  }
});

test('an upstream marked down is skipped until its mark runs out; all down is none', () => {
  const target = createProxyTarget(dynamicRelease('s', 1, ['10.1.0.2:3000', '10.1.0.3:3000', '10.1.0.4:3000']), 'none')!;
  const req = request({});
  markUpstreamDown(target, 1, Date.now() + 60_000);
  const picked = Array.from({ length: 6 }, () => pickUpstream(target, req));
  assert.ok(!picked.includes(1), `never the down one: ${picked.join(',')}`);
  assert.deepEqual(new Set(picked), new Set([0, 2]), 'the others still share the load');
  markUpstreamDown(target, 0, Date.now() + 60_000);
  markUpstreamDown(target, 2, Date.now() + 60_000);
  assert.equal(pickUpstream(target, req), -1, 'every instance down: none to pick (503)');
  // Marks in the past have run out: every instance is back.
  for (const i of [0, 1, 2]) markUpstreamDown(target, i, Date.now() - 9_000);
  assert.deepEqual(new Set(Array.from({ length: 6 }, () => pickUpstream(target, req))), new Set([0, 1, 2]));
  assert.equal(target.downUntil, null, 'back on the path that reads no clock');
  const sticky = createProxyTarget(dynamicRelease('s', 1, ['10.1.0.2:3000', '10.1.0.3:3000']), { header: 'x-s' })!;
  const keyed = request({ 'x-s': 'user-1' });
  const home = pickUpstream(sticky, keyed);
  markUpstreamDown(sticky, home, Date.now() + 60_000);
  assert.equal(pickUpstream(sticky, keyed), 1 - home, 'a sticky key moves off a down instance');
});
