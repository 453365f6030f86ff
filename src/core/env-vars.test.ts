import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError } from './errors.js';
import { checkEnvName, checkEnvValue, ENV_LIMITS } from './env-vars.js';

test('names must be exportable and not one Slipway sets', () => {
  for (const ok of ['A', 'DATABASE_URL', '_x1', 'NODE_ENV', 'PATH']) checkEnvName(ok);
  for (const bad of ['', '1A', 'A-B', 'A B', 'é', 'PORT', 'SLIPWAY_SLUG', 'X'.repeat(ENV_LIMITS.maxNameLength + 1)]) {
    assert.throws(() => checkEnvName(bad), (e) => isSlipwayError(e, 'invalid_env_var'), bad);
  }
});

test('values may be anything an environment can hold, up to the limit', () => {
  checkEnvValue('A', 'multi\nline = ok "quoted" $notexpanded');
  assert.throws(() => checkEnvValue('A', 'a\0b'), (e) => isSlipwayError(e, 'invalid_env_var'));
  assert.throws(() => checkEnvValue('A', 'x'.repeat(ENV_LIMITS.maxValueBytes + 1)), (e) => isSlipwayError(e, 'invalid_env_var'));
});
