import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createCachingCompressor, precompress } from './precompress.js';

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

test('the caching compressor gives precompress bytes and reuses them by hash', async () => {
  const compress = createCachingCompressor(1024 * 1024);
  const data = Buffer.from('body { color: red; } '.repeat(200));
  const first = await compress(data, 'sha-a');
  const direct = await precompress(data);
  assert.deepEqual(first.br, direct.br);
  assert.deepEqual(first.gzip, direct.gzip);
  assert.equal(await compress(Buffer.from('ignored: a hit never recompresses'), 'sha-a'), first);
});

test('the caching compressor forgets the least recently used past its budget', async () => {
  const one = Buffer.from('a'.repeat(5000));
  const size = Object.values(await precompress(one)).reduce((n, b) => n + (b?.length ?? 0), 0);
  const compress = createCachingCompressor(size * 2);
  const a = await compress(one, 'a');
  await compress(Buffer.from('b'.repeat(5000)), 'b');
  await compress(Buffer.from('c'.repeat(5000)), 'c');
  assert.notEqual(await compress(one, 'a'), a, 'a was evicted and computed again');
});
