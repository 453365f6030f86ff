import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eq } from 'drizzle-orm';
import { seedContext, seedDeployment } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { isSlipwayError } from '../core/errors.js';
import { envVars, events } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { EnvService } from './env-service.js';

const principal: Principal = { keyId: 'key_t', tenantId: 'ten_t', projectId: null, role: 'admin' };

async function withEnv(fn: (env: EnvService, ctx: ServiceContext) => Promise<void>): Promise<void> {
  const { store, cleanup } = await openTestStore();
  try {
    await seedDeployment(store);
    const ctx = seedContext(store);
    await fn(new EnvService(ctx), ctx);
  } finally {
    await cleanup();
  }
}

test('a secret is sealed in the store, never listed, and opens again for the version', () => withEnv(async (env, ctx) => {
  const listed = await env.update(principal, 'app', { set: { MODE: { value: 'blue' }, TOKEN: { value: 'tok-123456', secret: true } } });
  assert.deepEqual(listed.map((v) => [v.name, v.secret, v.value]), [['MODE', false, 'blue'], ['TOKEN', true, null]]);
  const rows = await ctx.store.db.select().from(envVars).where(eq(envVars.deploymentId, 'dep_t'));
  const token = rows.find((r) => r.name === 'TOKEN')!;
  assert.doesNotMatch(token.value, /tok-123456/, 'stored sealed');
  assert.equal(rows.find((r) => r.name === 'MODE')!.value, 'blue');
  const frozen = await ctx.store.db.transaction((tx) => env.freeze(tx, 'dep_t'));
  assert.deepEqual(env.open('dep_t', frozen).values, { MODE: 'blue', TOKEN: 'tok-123456' });
  assert.deepEqual(env.open('dep_t', frozen).secrets, ['tok-123456']);
  // A sealed value moved to another deployment does not open there.
  assert.throws(() => env.open('dep_other', frozen), (e) => isSlipwayError(e, 'secrets_key_mismatch'));
  // A new value without `secret` keeps a secret secret; `secret: false` makes it plain.
  await env.update(principal, 'app', { set: { TOKEN: { value: 'tok-rotated' } } });
  assert.equal((await env.list(principal, 'app')).find((v) => v.name === 'TOKEN')!.value, null);
  await env.update(principal, 'app', { set: { TOKEN: { value: 'now-public', secret: false } } });
  assert.equal((await env.list(principal, 'app')).find((v) => v.name === 'TOKEN')!.value, 'now-public');
  const [evt] = await ctx.store.db.select().from(events).where(eq(events.type, 'env.updated'));
  assert.ok(evt, 'the change is an event');
  assert.doesNotMatch(JSON.stringify(evt), /tok-123456|blue/, 'events carry names only');
}));

test('a bad change is refused whole: nothing of it is kept', () => withEnv(async (env, ctx) => {
  await env.update(principal, 'app', { set: { KEEP: { value: '1' } } });
  const refused = async (patch: Parameters<EnvService['update']>[2], code: string) => {
    await assert.rejects(env.update(principal, 'app', patch), (e) => isSlipwayError(e) && e.code === code);
  };
  await refused({ set: { GOOD: { value: 'x' }, PORT: { value: '1' } } }, 'invalid_env_var');
  await refused({ set: { GOOD: { value: 'x' }, '9BAD': { value: '1' } } }, 'invalid_env_var');
  await refused({ set: { A: { value: 'x' } }, unset: ['A'] }, 'invalid_env_var');
  await refused({}, 'invalid_request');
  // Over the total size: checked after the writes, inside the transaction, so they roll back.
  const big = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`BIG_${i}`, { value: 'x'.repeat(30 * 1024) }]));
  await refused({ set: big, unset: ['KEEP'] }, 'invalid_env_var');
  await assert.rejects(env.update(principal, 'nope', { set: { A: { value: '1' } } }), (e) => isSlipwayError(e, 'deployment_not_found'));
  const names = (await env.list(principal, 'app')).map((v) => v.name);
  assert.deepEqual(names, ['KEEP']);
  // Another tenant sees nothing.
  await assert.rejects(env.list({ ...principal, tenantId: 'ten_other' }, 'app'), (e) => isSlipwayError(e, 'deployment_not_found'));
  await env.update(principal, 'app', { unset: ['KEEP'] });
  assert.deepEqual(await env.list(principal, 'app'), []);
  assert.equal((await ctx.store.db.select().from(envVars)).length, 0);
}));
