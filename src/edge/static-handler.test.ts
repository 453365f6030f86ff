import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { loadSite } from '../../test/support/edge/load-site.js';
import type { Site } from './site.js';
import { serveStatic } from './static-handler.js';
import { buildReleaseTar, get } from '../../test/support/edge/test-helpers.js';

const INDEX = '<!doctype html><title>home</title>' + 'x'.repeat(2000);
let plain: Site;
let withErrorPage: Site;
const servers: Server[] = [];
const ports: Record<string, number> = {};

async function serve(name: string, site: Site, spaFallback: boolean): Promise<void> {
  const server = createServer((req, res) => serveStatic(req, res, { site, spaFallback }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports[name] = (server.address() as AddressInfo).port;
}

before(async () => {
  const release = buildReleaseTar({
    'index.html': { content: INDEX, encodings: ['br', 'gzip'] },
    'app.js': 'console.log(1)',
    'style.css': 'body{}',
    'data.json': '{}',
    'img/logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    'about/index.html': 'about',
    'contact.html': 'contact',
    'docs/guide/index.html': 'guide',
  });
  plain = loadSite(release.tar);
  withErrorPage = loadSite(buildReleaseTar({ 'index.html': 'home', '404.html': 'custom missing' }).tar);
  await serve('plain', plain, false);
  await serve('spa', plain, true);
  await serve('errorPage', withErrorPage, false);
  await serve('errorPageSpa', withErrorPage, true);
});

after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

test('content types come from the release; directories and extensionless names resolve', async () => {
  const p = ports.plain as number;
  const expect: Array<[string, number, string, string?]> = [
    ['/app.js', 200, 'text/javascript; charset=utf-8'],
    ['/style.css', 200, 'text/css; charset=utf-8'],
    ['/data.json', 200, 'application/json; charset=utf-8'],
    ['/img/logo.png', 200, 'image/png'],
    ['/', 200, 'text/html; charset=utf-8', INDEX],
    ['/about', 200, 'text/html; charset=utf-8', 'about'],
    ['/about/', 200, 'text/html; charset=utf-8', 'about'],
    ['/contact', 200, 'text/html; charset=utf-8', 'contact'],
    ['/docs/guide/', 200, 'text/html; charset=utf-8', 'guide'],
    ['/app.js?v=123#x', 200, 'text/javascript; charset=utf-8'],
  ];
  for (const [path, status, type, body] of expect) {
    const res = await get(p, path);
    assert.equal(res.status, status, path);
    assert.equal(res.headers['content-type'], type, path);
    assert.equal(res.headers['cache-control'], 'public, max-age=0, must-revalidate', path);
    if (body !== undefined) assert.equal(res.body.toString(), body, path);
  }
});

test('ETag and If-None-Match give 304 with validators and no body', async () => {
  const p = ports.plain as number;
  const first = await get(p, '/app.js');
  const etag = first.headers.etag as string;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
    const res = await get(p, '/app.js', { headers: { 'if-none-match': inm } });
    assert.equal(res.status, 304, inm);
    assert.equal(res.headers.etag, etag);
    assert.equal(res.body.length, 0);
  }
  const miss = await get(p, '/app.js', { headers: { 'if-none-match': '"other"' } });
  assert.equal(miss.status, 200);
  // The br variant has its own tag: the identity tag does not validate it.
  const br = await get(p, '/', { headers: { 'accept-encoding': 'br', 'if-none-match': etag } });
  assert.equal(br.status, 200);
  const brAgain = await get(p, '/', { headers: { 'accept-encoding': 'br', 'if-none-match': br.headers.etag as string } });
  assert.equal(brAgain.status, 304);
});

test('Accept-Encoding chooses br, then gzip, honouring q=0', async () => {
  const p = ports.plain as number;
  const br = await get(p, '/', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(br.headers.vary, 'Accept-Encoding');
  assert.equal(brotliDecompressSync(br.body).toString(), INDEX);
  const gz = await get(p, '/', { headers: { 'accept-encoding': 'br;q=0, gzip' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), INDEX);
  assert.notEqual(gz.headers.etag, br.headers.etag);
  const none = await get(p, '/', { headers: { 'accept-encoding': 'br;q=0, gzip;q=0' } });
  assert.equal(none.headers['content-encoding'], undefined);
  assert.equal(none.body.toString(), INDEX);
  const plainReq = await get(p, '/');
  assert.equal(plainReq.headers['content-encoding'], undefined);
  assert.equal(Number(plainReq.headers['content-length']), Buffer.byteLength(INDEX));
});

test('missing paths: neutral 404, SPA fallback for extensionless paths, release 404.html', async () => {
  const neutral = await get(ports.plain as number, '/missing');
  assert.equal(neutral.status, 404);
  assert.match(neutral.body.toString(), /404 Not Found/);
  assert.equal(neutral.headers['cache-control'], 'no-store');

  const spa = await get(ports.spa as number, '/app/settings/profile');
  assert.equal(spa.status, 200);
  assert.equal(spa.body.toString(), INDEX);
  const spaAsset = await get(ports.spa as number, '/missing.js');
  assert.equal(spaAsset.status, 404);

  const custom = await get(ports.errorPage as number, '/missing');
  assert.equal(custom.status, 404);
  assert.equal(custom.body.toString(), 'custom missing');
  const etag = custom.headers.etag as string;
  const notConditional = await get(ports.errorPage as number, '/missing', { headers: { 'if-none-match': etag } });
  assert.equal(notConditional.status, 404, 'a 404 page is never turned into a 304');

  // With both, the deployment's explicit SPA setting decides extensionless paths.
  assert.equal((await get(ports.errorPageSpa as number, '/route')).body.toString(), 'home');
  assert.equal((await get(ports.errorPageSpa as number, '/x.png')).body.toString(), 'custom missing');
});

test('HEAD sends headers only; other methods get 405 with Allow', async () => {
  const p = ports.plain as number;
  const head = await get(p, '/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String('console.log(1)'.length));
  assert.equal(head.body.length, 0);
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const res = await get(p, '/app.js', { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.allow, 'GET, HEAD');
  }
});

test('path traversal and NUL tricks never escape the release', async () => {
  const p = ports.spa as number;
  const attempts = ['/..%2f..%2fetc/passwd', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/index.html%00.png', '/%00', '/a/%2e%2e%2f%2e%2e%2fapp.js', '/%c0%ae%c0%ae/etc/passwd', '/..%5c..%5cetc%5cpasswd'];
  for (const path of attempts) {
    const res = await get(p, path);
    assert.ok(res.status === 400 || res.status === 404 || (res.status === 200 && res.body.toString() === INDEX), `${path} → ${res.status}`);
    assert.doesNotMatch(res.body.toString(), /root:/, path);
  }
  assert.equal((await get(p, '/..%2f..%2fetc/passwd')).status, 400);
  assert.equal((await get(p, '/%00')).status, 400);
});
