import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { idCursor, numberCursor } from './page-cursor.js';

test('a cursor the API gave out is read back', () => {
  const id = newId('dep');
  assert.equal(idCursor(id, 'dep'), id);
  assert.equal(numberCursor('42'), 42);
  assert.equal(idCursor(undefined, 'dep'), undefined);
  assert.equal(numberCursor(undefined), undefined);
});

test('anything else is invalid_request on the cursor field, never "start again"', () => {
  const bad = (e: unknown) => isSlipwayError(e, 'invalid_request') && (e.details as { field?: string }).field === 'cursor';
  for (const c of ['garbage', '', newId('evt'), 'dep_', `${newId('dep')}x`]) assert.throws(() => idCursor(c, 'dep'), bad, c);
  for (const c of ['garbage', '', '0', '-1', '1.5', '12abc', '1e3', '99999999999']) assert.throws(() => numberCursor(c), bad, c);
});
