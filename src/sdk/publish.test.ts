import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createClient } from './create-client.js';
import { createFakeFetch, jsonResponse } from '../../test/support/sdk/fake-fetch.js';
import { fakePublishResult, fakeVersion } from '../../test/support/sdk/fixtures.js';

function setup(status = 202) {
  const fake = createFakeFetch(() => jsonResponse(status, { data: fakePublishResult(fakeVersion({ state: 'queued' })) }));
  return { client: createClient({ baseUrl: 'http://api.test', token: 'sk_test', fetch: fake.fetch }), requests: fake.requests };
}

test('an archive Buffer is the body; options go in the query and the key in Idempotency-Key', async () => {
  const { client, requests } = setup(200);
  const archive = gzipSync(Buffer.from('not really a tar'));
  const result = await client.publish('my-site', archive, {
    wait: true, buildCommand: 'npm run build', outputPath: 'dist', kind: 'auto', idempotencyKey: 'ci-42',
  });
  assert.equal(result.version.state, 'queued');
  const req = requests[0];
  assert.equal(req?.method, 'POST');
  assert.equal(req?.url.pathname, '/api/v1/deployments/my-site/publish');
  assert.deepEqual(Object.fromEntries(req?.url.searchParams ?? []), {
    wait: 'true', build_command: 'npm run build', output_path: 'dist', kind: 'auto',
  });
  assert.equal(req?.headers.get('idempotency-key'), 'ci-42');
  assert.equal(req?.headers.get('authorization'), 'Bearer sk_test');
  assert.equal(req?.headers.get('content-type'), 'application/gzip');
  assert.deepEqual(req?.body, archive);
});

test('plain tar bytes are sent as application/x-tar and no query is added without options', async () => {
  const { client, requests } = setup();
  await client.publish('my-site', Buffer.from('plain tar bytes'));
  assert.equal(requests[0]?.headers.get('content-type'), 'application/x-tar');
  assert.equal(requests[0]?.url.search, '');
  assert.equal(requests[0]?.headers.get('idempotency-key'), null);
});

test('a Readable archive is streamed half-duplex', async () => {
  const { client, requests } = setup();
  const parts = [Buffer.from([0x1f, 0x8b, 1]), Buffer.from([2, 3])];
  await client.publish('my-site', Readable.from(parts), { archiveType: 'gzip' });
  assert.equal(requests[0]?.duplex, 'half');
  assert.equal(requests[0]?.headers.get('content-type'), 'application/gzip');
  assert.deepEqual(requests[0]?.body, Buffer.concat(parts));
});

test('a file map is sent as JSON with options in the body and bytes base64-encoded', async () => {
  const { client, requests } = setup();
  await client.publish('my-site', {
    files: {
      'index.html': '<h1>hi</h1>',
      'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      'pre.bin': { content: 'AAE=', encoding: 'base64' },
    },
  }, { buildCommand: 'make', wait: true });
  const req = requests[0];
  assert.equal(req?.headers.get('content-type'), 'application/json');
  assert.equal(req?.url.search, '?wait=true');
  assert.deepEqual(JSON.parse(req?.body.toString() ?? ''), {
    files: {
      'index.html': '<h1>hi</h1>',
      'logo.png': { content: 'iVBORw==', encoding: 'base64' },
      'pre.bin': { content: 'AAE=', encoding: 'base64' },
    },
    build_command: 'make',
  });
});
