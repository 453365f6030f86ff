import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { isSlipwayError } from '../core/errors.js';
import { newSecretsKey, parseSecretsKey, SecretBox } from './secret-box.js';

test('a sealed value opens only with the same key and in the same place', () => {
  const box = new SecretBox(parseSecretsKey(newSecretsKey()));
  const sealed = box.seal('hunter2 ünïcode', 'dep_a/TOKEN');
  assert.doesNotMatch(sealed, /hunter2/);
  assert.notEqual(box.seal('hunter2 ünïcode', 'dep_a/TOKEN'), sealed, 'a fresh IV every time');
  assert.equal(box.open(sealed, 'dep_a/TOKEN'), 'hunter2 ünïcode');
  assert.throws(() => box.open(sealed, 'dep_b/TOKEN'), (e) => isSlipwayError(e, 'secrets_key_mismatch'));
  const other = new SecretBox(randomBytes(32));
  assert.throws(() => other.open(sealed, 'dep_a/TOKEN'), (e) => isSlipwayError(e, 'secrets_key_mismatch') && /SLIPWAY_SECRETS_KEY/.test(e.message));
  // The last-but-one character changed for another (the last may carry unused bits).
  const tampered = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.slice(-1);
  assert.throws(() => box.open(tampered, 'dep_a/TOKEN'), (e) => isSlipwayError(e, 'secrets_key_mismatch'));
  const parts = sealed.split('.');
  const shortTag = [...parts.slice(0, 3), parts[3]!.slice(0, 6), parts[4]].join('.');
  assert.throws(() => box.open(shortTag, 'dep_a/TOKEN'), (e) => isSlipwayError(e, 'secrets_key_mismatch'), 'a truncated tag is refused');
});

test('keys are read as base64 or hex and must be 32 bytes', () => {
  const hex = randomBytes(32).toString('hex');
  assert.equal(parseSecretsKey(hex).toString('hex'), hex);
  assert.equal(parseSecretsKey(` ${newSecretsKey()}\n`).length, 32);
  assert.throws(() => parseSecretsKey('short'), (e) => isSlipwayError(e, 'invalid_request'));
});
