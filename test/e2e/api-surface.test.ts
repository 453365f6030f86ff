// The rest of the contract through real processes: OpenAPI, live events, deployment settings
// reaching the edge, HTTP caching and compression, delete.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { startPlatform, type Platform } from '../support/platform.js';
import { waitFor } from '../../src/util/wait-for.js';

let platform: Platform;

before(async () => {
  platform = await startPlatform();
});
after(async () => platform?.stop());

test('the OpenAPI document is served and describes the endpoints', async () => {
  const res = await fetch(`${platform.apiUrl}/api/v1/openapi.json`);
  assert.equal(res.status, 200);
  const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
  assert.match(doc.openapi, /^3\./);
  for (const path of ['/api/v1/deployments', '/api/v1/deployments/{deployment}/publish', '/api/v1/deployments/{deployment}/rollback', '/api/v1/operations/{id}']) {
    assert.ok(doc.paths[path], `${path} documented`);
  }
});

test('events stream live over SSE', async () => {
  await platform.client.createDeployment({ slug: 'live' });
  const abort = new AbortController();
  const seen: string[] = [];
  const following = (async () => {
    for await (const e of platform.client.followEvents('live', { signal: abort.signal })) {
      seen.push(e.type);
      if (e.type === 'deployment.promoted') abort.abort();
    }
  })();
  await waitFor(() => seen.includes('deployment.created'), { description: 'the backlog' });
  await platform.client.publish('live', { files: { 'index.html': 'live' } });
  await following;
  for (const t of ['version.queued', 'version.building', 'version.ready', 'deployment.promoted']) assert.ok(seen.includes(t), `${t} in ${seen}`);
});

test('SPA fallback, ETag/304 and compression through the edge', async () => {
  await platform.client.createDeployment({ slug: 'app' });
  const js = `console.log(${JSON.stringify('x'.repeat(4000))});`;
  await platform.client.publish('app', { files: { 'index.html': '<div id=app></div>', 'app.js': js, '404.html': 'custom 404' } }, { wait: true });
  assert.equal((await platform.edge('app.localhost', '/settings/profile')).status, 404);
  assert.equal((await platform.edge('app.localhost', '/settings/profile')).text, 'custom 404', "the release's own 404 page");
  await platform.client.updateDeployment('app', { spaFallback: true });
  const spa = await waitFor(async () => {
    const r = await platform.edge('app.localhost', '/settings/profile');
    return r.status === 200 ? r : undefined;
  }, { description: 'the SPA fallback to reach the edge' });
  assert.equal(spa.text, '<div id=app></div>');

  const plain = await platform.edge('app.localhost', '/app.js');
  const etag = String(plain.headers.etag);
  assert.match(etag, /^"[0-9a-f]+"$/);
  assert.equal((await platform.edge('app.localhost', '/app.js', { 'if-none-match': etag })).status, 304);
  const br = await platform.edge('app.localhost', '/app.js', { 'accept-encoding': 'gzip, br' });
  assert.equal(br.headers['content-encoding'], 'br');
  assert.equal(brotliDecompressSync(br.body).toString(), js);
  const gz = await platform.edge('app.localhost', '/app.js', { 'accept-encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString(), js);
  assert.match(String(plain.headers['content-type']), /javascript/);
});

test('deleting a deployment stops serving it and frees the slug', async () => {
  await platform.client.createDeployment({ slug: 'gone' });
  await platform.client.publish('gone', { files: { 'index.html': 'here' } }, { wait: true });
  assert.equal((await platform.edge('gone.localhost')).text, 'here');
  await platform.client.deleteDeployment('gone');
  await waitFor(async () => (await platform.edge('gone.localhost')).status === 404, { description: 'the route removed' });
  const again = await platform.client.createDeployment({ slug: 'gone' });
  assert.equal(again.state, 'empty');
});
