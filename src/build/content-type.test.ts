import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentTypeFor, isCompressible } from './content-type.js';

test('content types come from the extension, with a charset for text', () => {
  assert.equal(contentTypeFor('index.html'), 'text/html; charset=utf-8');
  assert.equal(contentTypeFor('assets/app.js'), 'text/javascript; charset=utf-8');
  assert.equal(contentTypeFor('data/x.json'), 'application/json; charset=utf-8');
  assert.equal(contentTypeFor('img/logo.png'), 'image/png');
  assert.equal(contentTypeFor('dir.html/no-extension'), 'application/octet-stream');
  assert.equal(contentTypeFor('weird.unknownext'), 'application/octet-stream');
});

test('text-like types are compressible, already-compressed media is not', () => {
  for (const path of ['a.html', 'a.css', 'a.js', 'a.mjs', 'a.json', 'a.svg', 'a.xml', 'a.txt', 'a.map', 'a.wasm', 'a.webmanifest', 'a.ico', 'a.ttf']) {
    assert.equal(isCompressible(contentTypeFor(path)), true, path);
  }
  for (const path of ['a.png', 'a.jpg', 'a.webp', 'a.avif', 'a.woff2', 'a.woff', 'a.mp4', 'a.gz', 'a.zip', 'a.pdf', 'noext']) {
    assert.equal(isCompressible(contentTypeFor(path)), false, path);
  }
});
