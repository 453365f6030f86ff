import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { isRoute } from './route-message.js';

test('route hosts and labels are checked before they reach host matching or a Location header', () => {
  const base = testRoute('shop', ['a'.repeat(64)]);
  assert.ok(isRoute({ ...base, label: 'shop--acme', hosts: [{ name: 'www.shop.test', redirect_to: 'shop.test', https_redirect: true, hsts_max_age: 600 }] }));
  for (const hosts of [[{ name: 'WWW.shop.test' }], [{ name: 'shop.test/evil' }], [{ name: 'x' }], [{ name: 'a.test', redirect_to: 'evil.test\r\nSet-Cookie: x' }],
    [{ name: 'a.test', hsts_max_age: -1 }], [{ name: 'a.test', https_redirect: 'yes' }], [null], 'www.shop.test']) {
    assert.equal(isRoute({ ...base, hosts }), false, JSON.stringify(hosts));
  }
  assert.equal(isRoute({ ...base, label: 'Shop--acme' }), false);
});
