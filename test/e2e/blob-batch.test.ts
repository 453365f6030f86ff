// The internal batch blob endpoint through the real server: the framed answer carries exactly
// the blobs GET gives, in request order, and every misuse is a clear error sent before any byte.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOB_FRAME_HEADER_BYTES, MAX_BLOB_BATCH_BYTES, MAX_BLOB_BATCH_COUNT, decodeBlobFrameHeader } from '../../src/core/blob-batch.js';
import { startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
let source = '';
let artifact = '';

before(async () => {
  platform = await startPlatform();
  await platform.client.createDeployment({ slug: 'batch' });
  // Incompressible-looking but deterministic, so the source blob is larger than 64 MiB / 1000.
  const big = Buffer.alloc(100_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + (i >> 8)) & 0xff;
  const published = await platform.client.publish('batch', { files: { 'index.html': '<h1>batch</h1>', 'big.txt': big.toString('latin1') } }, { wait: true });
  source = published.version.source_sha256;
  artifact = published.version.artifact_sha256 as string;
});
after(async () => platform?.stop());

async function batch(shas: unknown, token: string | null = platform.internalToken) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${platform.apiUrl}/api/v1/internal/blobs/batch`, { method: 'POST', headers, body: JSON.stringify({ sha256: shas }) });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

async function getBlob(sha: string): Promise<Buffer> {
  const res = await fetch(`${platform.apiUrl}/api/v1/internal/blobs/${sha}`, { headers: { authorization: `Bearer ${platform.internalToken}` } });
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

function errorOf(body: Buffer): { code: string; details: Record<string, unknown> } {
  return (JSON.parse(body.toString()) as { error: { code: string; details: Record<string, unknown> } }).error;
}

test('frames carry each named blob, in request order, byte for byte as GET gives it', async () => {
  const answer = await batch([artifact, source, artifact]);
  assert.equal(answer.status, 200);
  assert.equal(answer.type, 'application/octet-stream');
  const expected = [[artifact, await getBlob(artifact)], [source, await getBlob(source)], [artifact, await getBlob(artifact)]] as const;
  let at = 0;
  for (const [sha, bytes] of expected) {
    const head = decodeBlobFrameHeader(answer.body.subarray(at, at + BLOB_FRAME_HEADER_BYTES));
    assert.deepEqual(head, { sha256: sha, size: bytes.length });
    at += BLOB_FRAME_HEADER_BYTES;
    assert.deepEqual(answer.body.subarray(at, at + bytes.length), bytes);
    at += bytes.length;
  }
  assert.equal(at, answer.body.length, 'nothing after the last frame');
});

test('only the internal key opens it', async () => {
  assert.equal((await batch([artifact], null)).status, 401);
  const user = await batch([artifact], platform.token);
  assert.equal(user.status, 403);
  assert.equal(errorOf(user.body).code, 'forbidden');
});

test('unknown blobs are named in a 404 before any byte; bad names and sizes are 400', async () => {
  const unknown = 'f'.repeat(64);
  const missing = await batch([artifact, unknown]);
  assert.equal(missing.status, 404);
  assert.equal(errorOf(missing.body).code, 'blob_not_found');
  assert.deepEqual(errorOf(missing.body).details.missing, [unknown]);

  const notSha = await batch(['../../etc/passwd']);
  assert.equal(notSha.status, 400);
  assert.equal(errorOf(notSha.body).code, 'invalid_request');

  assert.equal((await batch([])).status, 400, 'an empty batch');
  const tooMany = await batch(Array.from({ length: MAX_BLOB_BATCH_COUNT + 1 }, () => artifact));
  assert.equal(tooMany.status, 400);
  assert.equal(errorOf(tooMany.body).code, 'invalid_request');

  const sourceSize = (await getBlob(source)).length;
  assert.ok(sourceSize * MAX_BLOB_BATCH_COUNT > MAX_BLOB_BATCH_BYTES, 'the control: the source blob is large enough');
  const tooLarge = await batch(Array.from({ length: MAX_BLOB_BATCH_COUNT }, () => source));
  assert.equal(tooLarge.status, 400);
  assert.equal(errorOf(tooLarge.body).code, 'invalid_request');
  assert.equal(errorOf(tooLarge.body).details.max_bytes, MAX_BLOB_BATCH_BYTES);
});
