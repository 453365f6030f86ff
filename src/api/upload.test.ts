import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { isSlipwayError } from '../core/errors.js';
import { IN_MEMORY_SOURCE_BYTES } from '../core/limits.js';
import { UPLOADS_MEMORY_BYTES, createUploadMemoryPool, meterBody } from './upload.js';

test('passes the body through once, with its sha256 and size', async () => {
  const body = new PassThrough();
  const metered = meterBody(body, 100);
  body.end(Buffer.from('hello world'));
  assert.equal((await buffer(metered.stream)).toString(), 'hello world');
  assert.deepEqual(metered.digest(), { sha256: createHash('sha256').update('hello world').digest('hex'), size: 11, complete: true });
});

test('past the limit the reader gets payload_too_large, and the rest is drained, not cut off', async () => {
  const body = new PassThrough();
  const metered = meterBody(body, 10);
  const read = buffer(metered.stream).catch((err: unknown) => err);
  body.write(Buffer.alloc(8));
  body.write(Buffer.alloc(8));
  assert.ok(isSlipwayError(await read, 'payload_too_large'));
  body.end(Buffer.alloc(1000));
  // Reaching its end means it was read to the end, not destroyed: the client can read the answer.
  await once(body, 'end');
  assert.equal(metered.digest().complete, false);
});

test('a reader that stops early leaves the body drained, so the request can finish', async () => {
  const body = new PassThrough({ highWaterMark: 16 });
  const metered = meterBody(body, 1_000_000);
  metered.stream.destroy();
  for (let i = 0; i < 100; i++) body.write(Buffer.alloc(1024));
  body.end();
  await once(body, 'end');
  assert.equal(metered.digest().complete, false);
});

test('the upload memory pool hands out whole shares up to its total, and a share comes back once', () => {
  const pool = createUploadMemoryPool();
  const grants = [];
  for (let grant = pool.reserve(); grant !== undefined; grant = pool.reserve()) grants.push(grant);
  assert.equal(grants.length, UPLOADS_MEMORY_BYTES / IN_MEMORY_SOURCE_BYTES);
  assert.ok(grants.every((g) => g.bytes === IN_MEMORY_SOURCE_BYTES));
  assert.equal(pool.reserved(), UPLOADS_MEMORY_BYTES);
  grants[0]!.release();
  grants[0]!.release();
  assert.equal(pool.reserved(), UPLOADS_MEMORY_BYTES - IN_MEMORY_SOURCE_BYTES);
  assert.notEqual(pool.reserve(), undefined);
  assert.equal(pool.reserve(), undefined);
});
