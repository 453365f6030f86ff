import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError } from '../core/errors.js';
import { toPublishOptions } from './publish-options.js';

test('static_include is a comma-separated list of globs; blanks are dropped', () => {
  assert.deepEqual(toPublishOptions({ kind: 'auto', static_include: ' *.map , .nojekyll,,' }).staticInclude, ['*.map', '.nojekyll']);
  assert.equal(toPublishOptions({ kind: 'auto' }).staticInclude, undefined);
});

test('static_include refuses more than 50 globs or one past 200 characters', () => {
  for (const value of [Array.from({ length: 51 }, (_, i) => `f${i}`).join(','), 'x'.repeat(201)]) {
    assert.throws(() => toPublishOptions({ kind: 'auto', static_include: value }), (e) => isSlipwayError(e, 'invalid_request') && e.details.field === 'static_include');
  }
});
