import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { precompress } from './precompress.js';

test('compressible data gets both variants, which decompress to the original', async () => {
  const data = Buffer.from('<p>hello world</p>\n'.repeat(500));
  const { br, gzip } = await precompress(data);
  assert.ok(br && gzip);
  assert.deepEqual(brotliDecompressSync(br), data);
  assert.deepEqual(gunzipSync(gzip), data);
});

test('variants that save less than 5% are dropped', async () => {
  assert.deepEqual(await precompress(randomBytes(10_000)), {});
  assert.deepEqual(await precompress(Buffer.from('a')), {});
  assert.deepEqual(await precompress(Buffer.alloc(0)), {});
});

test('the same input always gives the same bytes', async () => {
  const data = Buffer.from('body { color: red }\n'.repeat(200));
  const a = await precompress(data);
  const b = await precompress(Buffer.from(data));
  assert.deepEqual(a, b);
});
