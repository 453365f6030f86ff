import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isSlipwayError } from '../core/errors.js';
import { IMMUTABLE_CACHE_CONTROL, CACHE_CONTROL } from './file-entry.js';
import { parseReleaseManifest } from './release-manifest.js';
import { serveStatic } from './static-handler.js';
import { loadSite } from '../../test/support/edge/load-site.js';
import { buildReleaseTar, get, releaseEntries } from '../../test/support/edge/test-helpers.js';

const servers: Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

async function serve(tar: Buffer): Promise<number> {
  const site = loadSite(tar);
  const server = createServer((req, res) => serveStatic(req, res, { site, spaFallback: true }));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

test('files the release marks immutable are cached for a year, in every variant and on 304s', async () => {
  const js = 'console.log("hashed");'.repeat(100);
  const port = await serve(buildReleaseTar({
    'index.html': '<h1>home</h1>',
    'assets/index-DiwrgTda.js': { content: js, encodings: ['br', 'gzip'], immutable: true },
    'assets/logo.png': Buffer.from([0x89, 0x50]),
  }).tar);
  for (const encoding of ['identity', 'br', 'gzip']) {
    const res = await get(port, '/assets/index-DiwrgTda.js', { headers: { 'accept-encoding': encoding } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable', encoding);
    const again = await get(port, '/assets/index-DiwrgTda.js', { headers: { 'accept-encoding': encoding, 'if-none-match': String(res.headers.etag) } });
    assert.equal(again.status, 304);
    assert.equal(again.headers['cache-control'], IMMUTABLE_CACHE_CONTROL, `${encoding} 304`);
  }
  for (const path of ['/', '/index.html', '/assets/logo.png', '/some/spa/route']) {
    assert.equal((await get(port, path)).headers['cache-control'], CACHE_CONTROL, path);
  }
});

test('a release packaged before the field existed revalidates everything, hashed names included', async () => {
  const port = await serve(buildReleaseTar({ 'index.html': 'home', 'assets/index-DiwrgTda.js': 'x' }).tar);
  assert.equal((await get(port, '/assets/index-DiwrgTda.js')).headers['cache-control'], 'public, max-age=0, must-revalidate');
});

test('the manifest takes immutable only as true', () => {
  const { manifest } = releaseEntries({ 'a.js': { content: 'x', immutable: true }, 'b.js': 'y' });
  const parsed = parseReleaseManifest(Buffer.from(JSON.stringify(manifest)));
  assert.deepEqual(parsed.files.map((f) => f.immutable), [true, undefined]);
  for (const bad of [false, 'true', 1]) {
    const tampered = { ...manifest, files: [{ ...manifest.files[0], immutable: bad }] };
    assert.throws(() => parseReleaseManifest(Buffer.from(JSON.stringify(tampered))), (e) => isSlipwayError(e, 'invalid_archive'), String(bad));
  }
});
