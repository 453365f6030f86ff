import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { seedDeployment } from '../../test/support/seed.js';
import { openTestStore } from '../../test/support/test-store.js';
import { isSlipwayError } from '../core/errors.js';
import { isNull } from 'drizzle-orm';
import { acmeAccounts, certificates, envVars, localCa } from '../store/schema.js';
import { saveCertificate } from '../services/tls/certificate-store.js';
import { ensureLocalCa } from '../services/tls/local-ca.js';
import { newSecretsKey } from '../services/secret-box.js';
import { withTempDir } from '../util/temp-dir.js';
import { loadSecretBox } from './secrets-key.js';

test('the secrets key is made once, and a server with the wrong or a lost key refuses to start', () => withTempDir(async (dir) => {
  const { store, cleanup } = await openTestStore();
  try {
    const keyFile = join(dir, 'secrets.key');
    const first = await loadSecretBox(store.db, { given: undefined, keyFile });
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    assert.equal((await loadSecretBox(store.db, { given: undefined, keyFile })).keyId, first.keyId, 'the same key on the next start');

    await seedDeployment(store);
    const now = new Date();
    await store.db.insert(envVars).values({
      tenantId: 'ten_t', deploymentId: 'dep_t', name: 'TOKEN', secret: true, value: first.seal('v', 'dep_t/TOKEN'), updatedBy: 'key_t', createdAt: now, updatedAt: now,
    });
    await loadSecretBox(store.db, { given: undefined, keyFile });
    await assert.rejects(loadSecretBox(store.db, { given: newSecretsKey(), keyFile }),
      (e) => isSlipwayError(e, 'secrets_key_mismatch') && e.message.includes(first.keyId) && e.message.includes('SLIPWAY_SECRETS_KEY'));
    const saved = await readFile(keyFile, 'utf8');
    await rm(keyFile);
    await assert.rejects(loadSecretBox(store.db, { given: undefined, keyFile }), (e) => isSlipwayError(e, 'secrets_key_mismatch') && /is missing/.test(e.message));
    await assert.rejects(stat(keyFile), 'no fresh key is made over lost secrets');
    assert.equal((await loadSecretBox(store.db, { given: saved, keyFile })).keyId, first.keyId, 'the restored key works, given as SLIPWAY_SECRETS_KEY');
    // Truly lost: the way out deletes what no key opens, and says so.
    const warnings: string[] = [];
    const fresh = await loadSecretBox(store.db, { given: undefined, keyFile, discardUnreadable: true, warn: (m) => warnings.push(m) });
    assert.notEqual(fresh.keyId, first.keyId);
    assert.match(warnings.join(), /deleted 1 stored secret value/);
    assert.deepEqual(await store.db.select().from(envVars), []);
    assert.equal((await loadSecretBox(store.db, { given: undefined, keyFile })).keyId, fresh.keyId, 'and the next start is normal');
  } finally {
    await cleanup();
  }
}));

test('TLS keys count: a store whose local CA, ACME account or certificates another key sealed refuses a server, and the way out retires them', () => withTempDir(async (dir) => {
  const { store, cleanup } = await openTestStore();
  try {
    const keyFile = join(dir, 'secrets.key');
    const first = await loadSecretBox(store.db, { given: undefined, keyFile });
    await ensureLocalCa(store.db, first, 'example.test');
    await store.db.insert(acmeAccounts).values({ directoryUrl: 'https://acme.example.test/dir', keySealed: first.seal('k', 'acme'), createdAt: new Date() });
    const now = new Date();
    await saveCertificate(store.db, first, {
      hostname: 'shop.example.test', tenantId: null, issuer: 'local_ca', certPem: 'CERT', keyPem: 'KEY', notBefore: now, notAfter: new Date(now.getTime() + 86_400_000),
    });
    await assert.rejects(loadSecretBox(store.db, { given: newSecretsKey(), keyFile }),
      (e) => isSlipwayError(e, 'secrets_key_mismatch') && e.message.includes(first.keyId));
    await rm(keyFile);
    await assert.rejects(loadSecretBox(store.db, { given: undefined, keyFile }), (e) => isSlipwayError(e, 'secrets_key_mismatch'));

    const warnings: string[] = [];
    const fresh = await loadSecretBox(store.db, { given: undefined, keyFile, discardUnreadable: true, warn: (m) => warnings.push(m) });
    assert.match(warnings.join(), /deleted 2 local CA \/ ACME account key\(s\) and retired 1 certificate/);
    assert.deepEqual(await store.db.select().from(localCa), []);
    assert.deepEqual(await store.db.select().from(acmeAccounts), []);
    assert.equal((await store.db.select().from(certificates).where(isNull(certificates.supersededAt))).length, 0, 'no live certificate is left whose key does not open');
    assert.equal((await loadSecretBox(store.db, { given: undefined, keyFile })).keyId, fresh.keyId, 'and the next start is normal');
  } finally {
    await cleanup();
  }
}));
