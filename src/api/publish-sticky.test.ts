import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSlipwayError } from '../core/errors.js';
import { toPublishOptions } from './publish-options.js';
import { PublishQuery } from './schemas.js';

test('sticky=none turns the edge affinity off, sticky=auto restores it, absent keeps what the service has', () => {
  assert.equal(toPublishOptions({ kind: 'auto', sticky: 'none' }).runtime?.sticky, 'none');
  assert.equal(toPublishOptions({ kind: 'auto', sticky: 'auto' }).runtime?.sticky, null);
  assert.equal('sticky' in (toPublishOptions({ kind: 'auto' }).runtime ?? {}), false);
  assert.deepEqual(toPublishOptions({ kind: 'auto', sticky_cookie: 'sid' }).runtime?.sticky, { cookie: 'sid' });
  assert.throws(() => toPublishOptions({ kind: 'auto', sticky: 'none', sticky_header: 'X-User' }), (e) => isSlipwayError(e, 'invalid_request') && e.details.field === 'sticky');
  assert.equal(PublishQuery.safeParse({ sticky: 'sometimes' }).success, false);
});
