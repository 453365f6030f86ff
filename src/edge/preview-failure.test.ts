import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEdge, tempDir, versionRelease, withFake } from '../../test/support/edge/edge-fixtures.js';
import { testRoute } from '../../test/support/edge/fake-control-plane.js';
import { get } from '../../test/support/edge/test-helpers.js';
import { silentLogger, type EdgeLogger } from './logger.js';
import { PREVIEW_RETRY_MS } from './request-handler.js';

test('a preview release that fails to load is not downloaded or logged again until its retry time', async (t) => {
  const fake = await withFake(t);
  const v1 = versionRelease(1);
  fake.blobs.set(v1.sha256, v1.tar);
  const lost = 'c'.repeat(64);
  fake.upsert(testRoute('site', [v1.sha256, lost], { active: 1 }));
  const warnings: string[] = [];
  const logger: EdgeLogger = { ...silentLogger, warn: (_fields, message) => warnings.push(message) };
  const { edge, port } = await startEdge(t, { serverUrl: fake.url, token: fake.token, stateDir: await tempDir(t), logger });
  await edge.routes.waitForRevision(fake.revision);
  // Only Date: the clock the retry window reads; the edge's own timers and sockets run as usual.
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() });

  const first = await get(port, '/', { host: 'v2--site.localhost' });
  assert.equal(first.status, 503);
  assert.equal(first.headers['retry-after'], String(PREVIEW_RETRY_MS / 1000));
  const downloads = fake.blobRequests.get(lost) ?? 0;
  assert.ok(downloads > 0, 'the first request tried to download it');
  assert.deepEqual(warnings, ['preview release unavailable']);

  for (let i = 0; i < 5; i++) assert.equal((await get(port, '/', { host: 'v2--site.localhost' })).status, 503);
  assert.equal(fake.blobRequests.get(lost) ?? 0, downloads, 'no download within the window');
  assert.equal(warnings.length, 1, 'one warning, not one per request');
  assert.match((await get(port, '/', { host: 'site.localhost' })).body.toString(), /version 1/, 'the site is unaffected');

  t.mock.timers.tick(PREVIEW_RETRY_MS);
  assert.equal((await get(port, '/', { host: 'v2--site.localhost' })).status, 503);
  assert.ok((fake.blobRequests.get(lost) ?? 0) > downloads, 'tried again once the window passed');
  assert.equal(warnings.length, 2);
});
