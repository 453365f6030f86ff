import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineApi, EngineRequest } from './engine-api.js';
import { imageTag, parseImageTag, pruneBuildCache, removeImage } from './engine-images.js';

/** An engine that records each request and answers it empty, or with `inspect` for an image's details. */
function recordingEngine(inspect: { RepoTags: string[] | null } = { RepoTags: null }): { api: EngineApi; sent: EngineRequest[] } {
  const sent: EngineRequest[] = [];
  const api: EngineApi = {
    json: <T>(request: EngineRequest) => {
      sent.push(request);
      return Promise.resolve((request.method === 'GET' && request.path.endsWith('/json') ? inspect : undefined) as T);
    },
    stream: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
  return { api, sent };
}

// Between GC's listing and its removal a redeploy may tag the same image id again: deleting by
// id would take that build's image. The listed tags go; the engine deletes the image with its last.
test('a tagged image is removed by its listed tags only, never by id; an untagged one by id', async () => {
  const { api, sent } = recordingEngine();
  assert.equal(await removeImage(api, { id: 'sha256:aaa', tags: ['slipway/dep_1:v1', 'slipway/dep_1:v2'] }), 'removed');
  assert.deepEqual(sent.map((r) => `${r.method} ${r.path}`), [
    `DELETE /images/${encodeURIComponent('slipway/dep_1:v1')}`,
    `DELETE /images/${encodeURIComponent('slipway/dep_1:v2')}`,
  ]);
  sent.length = 0;
  assert.equal(await removeImage(api, { id: 'sha256:bbb', tags: [] }), 'removed');
  assert.deepEqual(sent.filter((r) => r.method === 'DELETE').map((r) => r.path), [`/images/${encodeURIComponent('sha256:bbb')}`]);
});

test('an image listed untagged that a build has tagged since is kept', async () => {
  const { api, sent } = recordingEngine({ RepoTags: ['slipway/dep_1:v9'] });
  assert.equal(await removeImage(api, { id: 'sha256:ccc', tags: [] }), 'in_use');
  assert.deepEqual(sent.filter((r) => r.method === 'DELETE'), []);
});

test('the build cache is pruned with all=true, as `docker builder prune -a --keep-storage` does', async () => {
  const { api, sent } = recordingEngine();
  await pruneBuildCache(api, 1234);
  assert.deepEqual(sent.map((r) => [r.path, r.query]), [['/build/prune', { 'keep-storage': 1234, all: true }]]);
});

test('an image tag names its deployment and version, and reads back; other tags name none', () => {
  assert.equal(imageTag('dep_abc123', 7), 'slipway/dep_abc123:v7');
  assert.deepEqual(parseImageTag(imageTag('dep_abc123', 7)), { deploymentId: 'dep_abc123', versionNumber: 7 });
  assert.equal(parseImageTag('slipway-test/busybox:1'), null);
  assert.equal(parseImageTag('slipway/dep_abc123:latest'), null);
});
