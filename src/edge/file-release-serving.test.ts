import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEdge, tempDir, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { buildFileRelease, putFileRelease } from '../../test/support/edge/file-release.js';
import { buildReleaseTar, get, type TestFile, type TestResponse } from '../../test/support/edge/test-helpers.js';

const files: Record<string, string | Buffer | TestFile> = {
  'index.html': { content: `<h1>home</h1>${'<p>text</p>'.repeat(300)}`, encodings: ['br', 'gzip'] },
  '404.html': '<h1>not here</h1>',
  'about.html': 'about',
  'docs/index.html': 'docs',
  'assets/app-3f2a9c.js': { content: 'console.log(1);'.repeat(200), encodings: ['br', 'gzip'], immutable: true },
  'same-a.txt': 'twins',
  'same-b.txt': 'twins',
  // Larger than the in-memory limit below: streamed from disk in both formats.
  'big.bin': Buffer.alloc(50_000, 'b'),
  'empty.txt': '',
};

/** The parts of an answer a client sees, minus the clock. */
function view(res: TestResponse) {
  const { date: _date, ...headers } = res.headers;
  return { status: res.status, headers, body: res.body.toString('base64') };
}

test('a format-2 release is served exactly as the same files in a release tar', async (t) => {
  const fake = await withFake(t);
  const tar = buildReleaseTar(files);
  const perFile = buildFileRelease(files);
  fake.blobs.set(tar.sha256, tar.tar);
  putFileRelease(fake.blobs, perFile);
  fake.upsert(testRoute('tar', [tar.sha256], { spa: true }));
  const revision = fake.upsert(testRoute('per-file', [perFile.sha256], { spa: true }));
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t), maxMemoryFileBytes: 10_000 });
  await edge.routes.waitForRevision(revision);

  const requests: Array<{ path: string; method?: string; headers?: Record<string, string> }> = [];
  for (const path of ['/', '/index.html', '/about', '/docs/', '/docs', '/assets/app-3f2a9c.js', '/same-b.txt', '/big.bin', '/empty.txt', '/spa/route', '/missing.png']) {
    for (const encoding of ['identity', 'gzip', 'br;q=1, gzip;q=0.5', 'br;q=0, gzip']) {
      requests.push({ path, headers: { 'accept-encoding': encoding } });
      requests.push({ path, method: 'HEAD', headers: { 'accept-encoding': encoding } });
    }
  }
  requests.push({ path: '/', method: 'POST' });
  let compared = 0;
  for (const request of requests) {
    const a = await get(port, request.path, { ...request, host: 'tar.localhost' });
    const b = await get(port, request.path, { ...request, host: 'per-file.localhost' });
    assert.deepEqual(view(b), view(a), `${request.method ?? 'GET'} ${request.path} ${JSON.stringify(request.headers)}`);
    const etag = a.headers.etag;
    if (typeof etag === 'string' && a.status === 200) {
      const conditional = { ...request, headers: { ...request.headers, 'if-none-match': etag } };
      const a304 = await get(port, request.path, { ...conditional, host: 'tar.localhost' });
      const b304 = await get(port, request.path, { ...conditional, host: 'per-file.localhost' });
      assert.equal(a304.status, 304);
      assert.deepEqual(view(b304), view(a304), `conditional ${request.path}`);
    }
    compared++;
  }
  assert.equal(compared, requests.length);
  const big = await get(port, '/big.bin', { host: 'per-file.localhost' });
  assert.equal(big.body.length, 50_000, 'the control: a large body really was sent');
});

test('a restarted edge serves a format-2 release from its disk cache alone, the server down', async (t) => {
  const fake = await withFake(t);
  const stateDir = await tempDir(t);
  const release = buildFileRelease(files);
  putFileRelease(fake.blobs, release);
  fake.upsert(testRoute('offline', [release.sha256]));
  const first = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir, maxMemoryFileBytes: 10_000 });
  await first.edge.routes.waitForRevision(fake.revision);
  const online = await get(first.port, '/', { host: 'offline.localhost', headers: { 'accept-encoding': 'br' } });
  assert.equal(online.status, 200, 'the control: it served with the server up');
  await first.edge.close();

  // Server down: nothing listens on this address any more.
  const deadUrl = fake.url;
  await fake.close();
  const offline = await startEdge(t, { serverUrl: deadUrl, token: fake.token, stateDir, maxMemoryFileBytes: 10_000 });
  assert.deepEqual(view(await get(offline.port, '/', { host: 'offline.localhost', headers: { 'accept-encoding': 'br' } })), view(online));
  const big = await get(offline.port, '/big.bin', { host: 'offline.localhost' });
  assert.equal(big.status, 200);
  assert.deepEqual(big.body, Buffer.alloc(50_000, 'b'), 'a large file streams from the per-file cache');
});
