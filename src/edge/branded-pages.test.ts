import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RouteTenant } from '../core/routes.js';
import { EDGE_PAGE_NAMES } from '../core/states.js';
import { NEUTRAL_PAGES, pagesFor, type EdgePages } from './branded-pages.js';
import { safeColor, safeUrl } from './branding-values.js';
import type { CannedResponse } from './canned-responses.js';

const tenant = (branding: RouteTenant['branding']): RouteTenant => ({ id: 'ten_a', slug: 'acme', branding });

/** Every answer a set of pages holds, with the name it is known by. */
function everyPage(pages: EdgePages): Array<[string, string]> {
  const canned: Array<[string, CannedResponse]> = [
    ['notFound', pages.notFound], ['noUpstream', pages.noUpstream], ['unavailable', pages.unavailable], ['badGateway', pages.badGateway],
    ['gatewayTimeout', pages.gatewayTimeout], ['suspended', pages.suspended], ['maintenance', pages.maintenance],
    ['certificatePending', pages.certificatePending],
  ];
  return [...canned.map(([name, r]): [string, string] => [name, r.body.toString()]), ['starting', pages.starting(2)], ['startFailed', pages.startFailed()]];
}

test('branded pages show the display name and colours; a hostile name is escaped, never markup', () => {
  const pages = pagesFor(tenant({ display_name: '<script>alert(1)</script> & "Co"', primary_color: '#1a2b3c', background_color: 'rgb(250, 250, 240)', text_color: 'navy' }));
  for (const [name, html] of everyPage(pages)) {
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;Co&quot;/, name);
    assert.doesNotMatch(html, /<script/i, name);
    assert.match(html, /h1\{color:#1a2b3c\}/, name);
    assert.match(html, /background:rgb\(250, 250, 240\);color:navy/, name);
    assert.doesNotMatch(html, /slipway/i, name);
  }
  assert.equal(pages.notFound.status, 404);
  assert.equal(pages.badGateway.status, 502);
  assert.equal(pages.gatewayTimeout.status, 504);
  assert.match(pages.starting(3), /<meta http-equiv="refresh" content="3">/);
  assert.doesNotMatch(pages.startFailed(), /http-equiv="refresh"/, 'a failed boot is not reloaded into the same failure');
});

test('the suspension page is 503 without Retry-After; the reserved pages say when to come back', () => {
  const pages = pagesFor(tenant({ display_name: 'Acme' }));
  const headers = (r: CannedResponse) => Object.fromEntries(r.headers.flatMap((v, i, all) => (i % 2 === 0 ? [[v.toLowerCase(), all[i + 1]]] : [])));
  assert.equal(pages.suspended.status, 503);
  assert.equal(headers(pages.suspended)['retry-after'], undefined);
  assert.equal(headers(pages.suspended)['cache-control'], 'no-store');
  assert.equal(headers(pages.maintenance)['retry-after'], '60');
  assert.equal(headers(pages.certificatePending)['retry-after'], '10');
  assert.equal(headers(pages.noUpstream)['retry-after'], '1');
  assert.equal(headers(pages.unavailable)['retry-after'], '5');
});

test('colours and URLs that fail the check are dropped, not rendered', () => {
  const hostile = pagesFor(tenant({
    display_name: 'Acme',
    primary_color: 'red;}</style><script>x()</script>',
    background_color: 'url(https://evil.example/x.png)',
    text_color: 'expression(alert(1))',
    logo_url: 'javascript:alert(1)',
    support_url: 'data:text/html,<script>x()</script>',
  }));
  for (const [name, html] of everyPage(hostile)) {
    assert.doesNotMatch(html, /<script|javascript:|data:text|evil\.example|expression/i, name);
    assert.match(html, /h1\{color:#333333\}/, `${name}: the neutral colour instead`);
    assert.doesNotMatch(html, /<img|Contact support/, `${name}: no logo or support link`);
  }
  const good = pagesFor(tenant({ logo_url: 'https://cdn.example/logo.png?a=1&b="2"', support_url: 'mailto:help@example.com' }));
  assert.match(good.notFound.body.toString(), /<img src="https:\/\/cdn\.example\/logo\.png\?a=1&amp;b=%222%22"/);
  assert.doesNotMatch(good.notFound.body.toString(), /mailto|Contact support/, 'only http(s) links');
  for (const color of ['#abc', '#abcd', '#aabbcc', '#aabbccdd', 'rebeccapurple', 'hsl(120 50% 50% / .5)']) assert.equal(safeColor(color), color);
  for (const color of ['#ab', 'red;', 'red }', '#aabbccd', 'rgb(1,2,3);x', '', 12]) assert.equal(safeColor(color), null, String(color));
  assert.equal(safeUrl('/relative'), null);
  assert.equal(safeUrl(`https://example.com/${'a'.repeat(3000)}`), null);
});

test("the tenant's own HTML for a page is served as given; the other pages stay rendered", () => {
  const own = '<!doctype html><title>Gone fishing</title><p style="color:red">We will be back</p>';
  const pages = pagesFor(tenant({ display_name: 'Acme', pages: { suspended: own, not_found: '<h1>Nope</h1>' } }));
  assert.equal(pages.suspended.body.toString(), own);
  assert.equal(pages.notFound.body.toString(), '<h1>Nope</h1>');
  assert.equal(pages.notFound.status, 404);
  assert.match(pages.badGateway.body.toString(), /Acme/);
  assert.doesNotMatch(pages.badGateway.body.toString(), /Nope|fishing/);
  const starting = pagesFor(tenant({ pages: { starting: '<p>warming up</p>', unavailable: '<p>down</p>' } }));
  assert.equal(starting.starting(2), '<p>warming up</p>');
  assert.equal(starting.startFailed(), '<p>down</p>');
  assert.equal(starting.gatewayTimeout.body.toString(), '<p>down</p>');
  assert.equal(starting.gatewayTimeout.status, 504);
});

test('without branding (or for the default tenant) the pages are neutral and name nobody', () => {
  assert.equal(pagesFor(undefined), NEUTRAL_PAGES);
  assert.equal(pagesFor(tenant(null)), NEUTRAL_PAGES);
  assert.equal(pagesFor({ id: 'ten_b', slug: 'b' }), NEUTRAL_PAGES);
  for (const [name, html] of everyPage(NEUTRAL_PAGES)) {
    assert.doesNotMatch(html, /slipway|class="brand"|<img/i, name);
  }
  // Every page name has a page: a new name in core/states.ts needs one here too.
  assert.deepEqual([...EDGE_PAGE_NAMES], ['not_found', 'starting', 'unavailable', 'suspended', 'maintenance', 'certificate_pending']);
});

test('pages are rendered once per tenant object, and afresh when a route brings a new one', () => {
  const first = tenant({ display_name: 'Acme' });
  assert.equal(pagesFor(first), pagesFor(first));
  const renamed = tenant({ display_name: 'Acme Health' });
  assert.match(pagesFor(renamed).notFound.body.toString(), /Acme Health/);
  assert.doesNotMatch(pagesFor(first).notFound.body.toString(), /Health/);
});
