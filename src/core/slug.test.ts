import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSlug, isValidSlug } from './slug.js';
import { isSlipwayError } from './errors.js';

test('valid slugs are DNS labels', () => {
  for (const s of ['a', 'my-site', 'x1', 'a'.repeat(63)]) assert.equal(isValidSlug(s), true, s);
});

test('invalid slugs are refused with invalid_slug', () => {
  for (const s of ['', '-a', 'a-', 'A', 'a_b', 'a.b', 'a'.repeat(64), 'v1--site', 'é']) {
    assert.equal(isValidSlug(s), false, s);
    assert.throws(() => assertSlug(s), (e) => isSlipwayError(e, 'invalid_slug'));
  }
});

test('reserved slugs are refused with invalid_slug, naming the reason', () => {
  for (const s of ['api', 'admin', 'internal', 'www', 'localhost']) {
    assert.equal(isValidSlug(s), true, s);
    assert.throws(
      () => assertSlug(s),
      (e) => isSlipwayError(e, 'invalid_slug') && (e.details as { reason?: string }).reason === 'reserved',
      s,
    );
  }
  // Only the whole name is reserved.
  assert.equal(assertSlug('my-api'), 'my-api');
  assert.equal(assertSlug('www2'), 'www2');
});
