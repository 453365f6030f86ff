import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_RESOURCES } from '../core/runtime.js';
import type { RuntimeDriver } from '../runtime/runtime-driver.js';
import { makeTempDir, removeDir } from '../util/temp-dir.js';
import { claimingReleases, NO_TREE, ReleaseClaims } from './release-claims.js';

const SHA = 'e'.repeat(64);

test('records of instances no driver lists go once old; live ones and young ones (a start not listed yet) stay', async () => {
  const dir = await makeTempDir('release-claims-test-');
  try {
    const claims = new ReleaseClaims(join(dir, 'instance-releases'));
    for (const id of ['rti_live', 'rti_gone', 'rti/starting']) await claims.claim(id, SHA);
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const name of ['rti_live', 'rti_gone']) await utimes(join(dir, 'instance-releases', name), hourAgo, hourAgo);
    await claims.prune(new Set(['rti_live']), 60_000);
    assert.equal(await claims.releaseOf('rti_live'), SHA);
    assert.equal(await claims.releaseOf('rti_gone'), null);
    assert.equal(await claims.releaseOf('rti/starting'), SHA, 'an id is a file name whatever its characters');
  } finally {
    await removeDir(dir);
  }
});

test('an instance started from an image is recorded as running from no tree', async () => {
  const dir = await makeTempDir('release-claims-test-');
  try {
    const claims = new ReleaseClaims(join(dir, 'instance-releases'));
    const started: string[] = [];
    const driver = claimingReleases({
      start: async (spec: { id: string }) => (started.push(spec.id), { id: spec.id, address: '127.0.0.1:1', port: 1, startedAt: 0, data: {} }),
    } as unknown as RuntimeDriver, claims);
    await driver.start({ id: 'rti_img', release: { kind: 'image', image: 'slipway/app:1' }, runCommand: '', port: 1, env: {}, resources: DEFAULT_RESOURCES, logPath: join(dir, 'log') });
    assert.deepEqual(started, ['rti_img']);
    assert.equal(await claims.releaseOf('rti_img'), NO_TREE);
  } finally {
    await removeDir(dir);
  }
});
