import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineRedactor, redactSecrets } from './redact.js';

test('every occurrence of a secret is masked, the longest first, short ones left', () => {
  assert.equal(redactSecrets('token=abcd1234 again abcd1234', ['abcd1234']), 'token=[redacted] again [redacted]');
  assert.equal(redactSecrets('k=abcdef', ['abcd', 'abcdef']), 'k=[redacted]');
  assert.equal(redactSecrets('on and on', ['on']), 'on and on');
});

test('a secret split across chunks is still masked, and the last line is flushed', () => {
  let out = '';
  const r = createLineRedactor(['s3cr3t-value'], (t) => { out += t; });
  for (const chunk of ['echo s3c', 'r3t-va', 'lue\nnext ', 'line s3cr3t-value']) r.write(chunk);
  assert.equal(out, 'echo [redacted]\n');
  r.end();
  assert.equal(out, 'echo [redacted]\nnext line [redacted]');
});

test('a runaway line is flushed without the tail a secret may have begun in', () => {
  let out = '';
  const secret = 'S3CRET-VALUE-123';
  const r = createLineRedactor([secret], (t) => { out += t; });
  // 64 KiB of filler ending in the first half of the secret, then the rest of it.
  r.write('x'.repeat(64 * 1024 + 100) + secret.slice(0, 7));
  r.write(secret.slice(7) + ' done');
  r.end();
  assert.ok(!out.includes(secret) && !out.includes(secret.slice(0, 7) + secret.slice(7)), 'never printed whole');
  assert.ok(out.endsWith('[redacted] done'), out.slice(-40));
  assert.equal(out.length, 64 * 1024 + 100 + '[redacted] done'.length);
});
