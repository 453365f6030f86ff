import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ifNoneMatchHits, negotiateEncoding } from './http-negotiation.js';
import { requestPath } from './request-path.js';

test('Accept-Encoding: br over gzip over identity, honouring q=0 and *', () => {
  const cases: Array<[string | undefined, 'br' | 'gzip' | null]> = [
    [undefined, null],
    ['', null],
    ['gzip, deflate, br', 'br'],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip', 'gzip'],
    ['x-gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['br; q=0.000, gzip;q=0.5', 'gzip'],
    ['br;q=0,gzip;q=0', null],
    ['*', 'br'],
    ['*;q=0', null],
    ['*, br;q=0', 'gzip'],
    ['gzip;q=0, *', 'br'],
    ['identity', null],
    ['br;q=0.001', 'br'],
    ['deflate', null],
    [' br ; q=1 ', 'br'],
  ];
  for (const [header, expected] of cases) {
    assert.equal(negotiateEncoding(header, true, true), expected, String(header));
  }
  assert.equal(negotiateEncoding('br, gzip', false, true), 'gzip');
  assert.equal(negotiateEncoding('br', false, true), null);
});

test('If-None-Match: lists, weak comparison and *', () => {
  const etag = '"abc"';
  assert.equal(ifNoneMatchHits('"abc"', etag), true);
  assert.equal(ifNoneMatchHits('W/"abc"', etag), true);
  assert.equal(ifNoneMatchHits('"x", W/"abc" ,"y"', etag), true);
  assert.equal(ifNoneMatchHits('*', etag), true);
  assert.equal(ifNoneMatchHits('"abc-br"', etag), false);
  assert.equal(ifNoneMatchHits('"abcd", "ab"', etag), false);
  assert.equal(ifNoneMatchHits('abc', etag), false);
  assert.equal(ifNoneMatchHits('"unterminated', etag), false);
  assert.equal(ifNoneMatchHits('"abc-br"', '"abc-br"'), true);
});

test('request paths: query dropped, decoded only with %, NUL and dot segments refused', () => {
  assert.equal(requestPath('/a/b.css?v=1'), '/a/b.css');
  assert.equal(requestPath('/caf%C3%A9.html'), '/café.html');
  assert.equal(requestPath('/.well-known/x'), '/.well-known/x');
  assert.equal(requestPath('/a..b/c'), '/a..b/c');
  for (const bad of ['/..', '/../etc/passwd', '/a/./b', '/a/..', '/..%2f..%2fetc/passwd', '/%2e%2e/x', '/x%00.html', '/%E0%A4%A', '*', 'http://evil/x']) {
    assert.equal(requestPath(bad), null, bad);
  }
});
