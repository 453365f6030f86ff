import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { createRouteEntry, MALFORMED_HOST, normalizeHost, RouteTable, upstreamAddresses } from './route-table.js';
import { loadSite } from '../../test/support/edge/load-site.js';
import { buildReleaseTar } from '../../test/support/edge/test-helpers.js';
import { dynamicRoute } from '../../test/support/edge/upstream-fixtures.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

test('normalizeHost strips the port and trailing dot, lower-cases, refuses IP literals', () => {
  assert.equal(normalizeHost('My-Site.Localhost:8080'), 'my-site.localhost');
  assert.equal(normalizeHost('site.example.com.'), 'site.example.com');
  assert.equal(normalizeHost('[::1]:8080'), null);
  assert.equal(normalizeHost(undefined), null);
  assert.equal(normalizeHost(''), null);
  assert.equal(normalizeHost('site.localhost:'), 'site.localhost', 'an empty port is allowed (RFC 3986)');
  assert.equal(normalizeHost('site.localhost:65535'), 'site.localhost');
  assert.equal(normalizeHost('[::1]'), null);
});

test('normalizeHost refuses what is not host[:port]', () => {
  const malformed = [
    'site.localhost:abc', 'site.localhost:99999', 'site.localhost:65536', 'site.localhost:000080000', 'site.localhost:80:80',
    'site.localhost:-1', ':80', 'site.local host', 'site.localhost/x', 'user@site.localhost', 'site.localhost\\x',
    '[::1', '[::1]x', '[::1]:abc', '[not an ip]', 'sité.localhost',
  ];
  for (const host of malformed) assert.equal(normalizeHost(host), MALFORMED_HOST, host);
});

test('active hosts and immutable preview hosts resolve; others do not', () => {
  const table = new RouteTable('apps.example.com');
  const site = loadSite(buildReleaseTar({ 'index.html': 'x' }).tar);
  const before = table.current;
  table.publish(3, [createRouteEntry(testRoute('shop', [A, B], { active: 2 }), site)]);
  assert.notEqual(table.current, before, 'a change publishes a new snapshot');
  assert.equal(before.byHost.size, 0, 'the old snapshot is never mutated');
  assert.equal(table.current.revision, 3);
  assert.equal(table.active('shop.apps.example.com')?.target?.site, site);
  assert.equal(table.active('other.apps.example.com'), undefined);
  assert.equal(table.active('shop.apps.example.org'), undefined);
  assert.equal(table.preview('v1--shop.apps.example.com')?.release.artifact_sha256, A);
  assert.equal(table.preview('v2--shop.apps.example.com')?.release.artifact_sha256, B);
  for (const host of ['v3--shop.apps.example.com', 'v0--shop.apps.example.com', 'v01--shop.apps.example.com', 'v1--shop.apps.example.org', 'v1-shop.apps.example.com', 'x.v1--shop.apps.example.com']) {
    assert.equal(table.preview(host), null, host);
  }
});

test('dynamic releases resolve to proxy targets, active and preview; static ones do not', () => {
  const table = new RouteTable('localhost');
  const site = loadSite(buildReleaseTar({ 'index.html': 'x' }).tar);
  const mixed = dynamicRoute('mixed', [['10.0.0.1:80'], ['10.0.0.2:80', '10.0.0.3:80']]);
  const staticV3 = { version_number: 3, version_id: 'v3', artifact_sha256: A };
  mixed.versions = [...mixed.versions, staticV3];
  table.publish(1, [createRouteEntry(mixed, null), createRouteEntry(testRoute('plain', [A]), site)]);
  assert.equal(table.active('mixed.localhost')?.target, null);
  assert.deepEqual(table.proxyTarget('mixed.localhost')?.upstreams, ['10.0.0.2:80', '10.0.0.3:80']);
  assert.deepEqual(table.proxyTarget('v1--mixed.localhost')?.upstreams, ['10.0.0.1:80']);
  assert.equal(table.proxyTarget('v3--mixed.localhost'), null, 'a static version is not proxied');
  assert.equal(table.proxyTarget('plain.localhost'), null);
  assert.equal(table.proxyTarget('nope.localhost'), null);
  assert.deepEqual([...upstreamAddresses(table.current)].sort(), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
});

test('nextChange resolves at the next publish, not before, and every waiter shares it', async () => {
  const table = new RouteTable('localhost');
  let seen = 0;
  const first = table.nextChange().then(() => seen++);
  assert.equal(table.nextChange(), table.nextChange(), 'one promise until the next publish');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(seen, 0, 'nothing changed yet');
  table.publish(1, [createRouteEntry(dynamicRoute('app', [[]]), null)]);
  await first;
  assert.equal(seen, 1);
  let later = false;
  void table.nextChange().then(() => (later = true));
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(later, false, 'a waiter after a publish waits for the one after it');
});

test('update changes only the routes it names, in place, and a freed slug keeps its new owner', () => {
  const table = new RouteTable('localhost');
  const site = loadSite(buildReleaseTar({ 'index.html': 'x' }).tar);
  const shop = createRouteEntry(testRoute('shop', [A]), site);
  const blog = createRouteEntry(testRoute('blog', [A]), site);
  table.publish(1, [shop, blog]);
  const live = table.current;

  const shop2 = createRouteEntry(testRoute('shop', [A, B]), site);
  table.update(2, [shop2]);
  assert.equal(table.current, live, 'the same maps, changed in place');
  assert.equal(table.current.revision, 2);
  assert.equal(table.active('shop.localhost'), shop2);
  assert.equal(table.active('blog.localhost'), blog, 'an untouched route keeps its entry');

  // `shop` is deleted and its slug given to another deployment; a late removal of the old one
  // must not take the new owner's host with it.
  const reused = createRouteEntry({ ...testRoute('shop', [B]), deployment_id: 'dep_other' }, site);
  table.update(3, [reused], ['dep_shop']);
  table.update(4, [], ['dep_shop']);
  assert.equal(table.active('shop.localhost'), reused);
  assert.deepEqual([...table.current.byId.keys()].sort(), ['dep_blog', 'dep_other']);

  // A slug change moves the host.
  const renamed = createRouteEntry({ ...testRoute('journal', [A]), deployment_id: 'dep_blog' }, site);
  table.update(5, [renamed]);
  assert.equal(table.active('blog.localhost'), undefined);
  assert.equal(table.active('journal.localhost'), renamed);
  assert.equal(table.current.byHost.size, 2);
});

test('a route is served at its managed label and at each of its hosts; an update drops the hosts it lost', () => {
  const table = new RouteTable('apps.example.com');
  const site = loadSite(buildReleaseTar({ 'index.html': 'x' }).tar);
  const shop = { ...testRoute('shop', [A, B], { active: 2 }), label: 'shop--acme', hosts: [{ name: 'www.shop.test', https_redirect: true }, { name: 'shop.apps.acme.test' }] };
  table.publish(1, [createRouteEntry(shop, site), createRouteEntry(testRoute('blog', [A]), site)]);
  const entry = table.active('shop--acme.apps.example.com');
  assert.ok(entry);
  assert.equal(table.active('shop.apps.example.com'), undefined, 'a tenant route is not at its bare slug');
  assert.equal(table.active('www.shop.test'), entry);
  assert.equal(table.active('shop.apps.acme.test'), entry);
  assert.deepEqual(table.hostOptions('www.shop.test'), { name: 'www.shop.test', https_redirect: true });
  assert.equal(table.hostOptions('shop--acme.apps.example.com'), undefined);
  assert.equal(table.preview('v1--shop--acme.apps.example.com')?.release.artifact_sha256, A);
  assert.equal(table.active('blog.apps.example.com')?.route.slug, 'blog');

  // The custom domain moves to blog in one change, and shop keeps only its base host.
  table.update(2, [
    createRouteEntry({ ...shop, hosts: [{ name: 'shop.apps.acme.test' }] }, site),
    createRouteEntry({ ...testRoute('blog', [A]), hosts: [{ name: 'www.shop.test', redirect_to: 'blog.test' }] }, site),
  ]);
  assert.equal(table.active('www.shop.test')?.route.slug, 'blog');
  assert.deepEqual(table.hostOptions('www.shop.test'), { name: 'www.shop.test', redirect_to: 'blog.test' });
  assert.equal(table.active('shop.apps.acme.test')?.route.slug, 'shop');

  // Removing a route frees all its hosts, but never one that names another route by now.
  table.update(3, [], ['dep_shop']);
  assert.equal(table.active('shop--acme.apps.example.com'), undefined);
  assert.equal(table.active('shop.apps.acme.test'), undefined);
  assert.equal(table.active('www.shop.test')?.route.slug, 'blog');
  table.update(4, [createRouteEntry(testRoute('blog', [A]), site)]);
  assert.equal(table.active('www.shop.test'), undefined);
  assert.equal(table.hostOptions('www.shop.test'), undefined);
  assert.equal(table.current.byHost.size, 1);
});

test("a label with the preview syntax is never indexed: it cannot take another deployment's preview host", () => {
  const table = new RouteTable('apps.example.com');
  const site = loadSite(buildReleaseTar({ 'index.html': 'x' }).tar);
  // The default tenant's `acme` has version 1; tenant acme's deployment `v1` has label `v1--acme`.
  const acme = createRouteEntry(testRoute('acme', [A]), site);
  const squatter = { ...testRoute('v1', [B]), deployment_id: 'dep_squat', label: 'v1--acme', hosts: [{ name: 'v2--acme.apps.example.com' }] };
  table.publish(1, [acme, createRouteEntry(squatter, site)]);
  assert.equal(table.active('v1--acme.apps.example.com'), undefined);
  assert.equal(table.active('v2--acme.apps.example.com'), undefined);
  assert.equal(table.preview('v1--acme.apps.example.com')?.release.artifact_sha256, A);
  assert.equal(table.proxyTarget('v1--acme.apps.example.com'), null);
  table.update(2, [createRouteEntry({ ...squatter, label: 'v3--acme' }, site)]);
  assert.equal(table.active('v3--acme.apps.example.com'), undefined);
  assert.equal(table.current.byHost.size, 1, [...table.current.byHost.keys()].join(' '));
});
