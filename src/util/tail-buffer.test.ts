import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TailBuffer } from './tail-buffer.js';

test('keeps everything while under the limit', () => {
  const t = new TailBuffer(10);
  t.push(Buffer.from('abc'));
  t.push(Buffer.from('def'));
  assert.equal(t.toString(), 'abcdef');
  assert.equal(t.truncated, false);
});

test('keeps only the last bytes, across and within chunks', () => {
  const t = new TailBuffer(5);
  t.push(Buffer.from('abc'));
  t.push(Buffer.from('defgh'));
  assert.equal(t.toString(), 'defgh');
  t.push(Buffer.from('ij'));
  assert.equal(t.toString(), 'fghij');
  t.push(Buffer.from('0123456789'));
  assert.equal(t.toString(), '56789');
  assert.equal(t.truncated, true);
});

test('drops a multi-byte character cut in half at the start', () => {
  const t = new TailBuffer(4);
  t.push(Buffer.from('xé€')); // é is 2 bytes, € is 3: the kept 4 bytes start inside é
  assert.equal(t.toString(), '€');
});
