import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acmeConfig } from './acme-config.js';

test('no directory URL means no ACME, whatever else is set', () => {
  assert.equal(acmeConfig({ SLIPWAY_ACME_EMAIL: 'ops@example.com', SLIPWAY_ACME_MAX_ORDERS_PER_HOUR: 'x' }), undefined);
});

test('defaults, the extra root read from its file, and malformed values named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'slipway-acme-config-'));
  try {
    const caFile = join(dir, 'root.pem');
    await writeFile(caFile, '-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n');
    const url = 'https://127.0.0.1:14000/dir';
    assert.deepEqual(acmeConfig({ SLIPWAY_ACME_DIRECTORY_URL: url, SLIPWAY_ACME_CA_FILE: caFile }), {
      directoryUrl: url, email: undefined, extraCaPem: '-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n',
      maxOrdersPerHour: 100, maxOrdersPerTenantPerHour: 20, checkIntervalMs: 30_000,
    });
    assert.throws(() => acmeConfig({ SLIPWAY_ACME_DIRECTORY_URL: 'acme.example.com' }), /SLIPWAY_ACME_DIRECTORY_URL/);
    assert.throws(() => acmeConfig({ SLIPWAY_ACME_DIRECTORY_URL: url, SLIPWAY_ACME_MAX_ORDERS_PER_HOUR: '0' }), /SLIPWAY_ACME_MAX_ORDERS_PER_HOUR/);
    assert.throws(() => acmeConfig({ SLIPWAY_ACME_DIRECTORY_URL: url, SLIPWAY_ACME_CA_FILE: join(dir, 'missing.pem') }), /SLIPWAY_ACME_CA_FILE/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
