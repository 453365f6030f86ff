import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SEED } from '../../../test/support/seed.js';
import { openTestStore } from '../../../test/support/test-store.js';
import type { DynamicReleaseManifest } from '../../core/runtime.js';
import type { EngineApi, EngineRequest } from '../../runtime/docker/engine-api.js';
import { imageTag, type OwnedImage } from '../../runtime/docker/engine-images.js';
import { deployments, projects, tenants, versions } from '../../store/schema.js';
import { collectDockerImages, imagesToRemove, type ImageFacts } from './docker-images.js';

const CUTOFF = 1_000_000;
const image = (id: string, tags: string[], createdAtMs = CUTOFF - 1): OwnedImage => ({ id, tags, createdAtMs, bytes: 10 });
const none: ImageFacts = { keptIds: new Set(), collectedIds: new Set(), buildingTags: new Set(), inUseIds: new Set() };
const ids = (images: OwnedImage[]) => images.map((i) => i.id).sort();

test('an image goes with its version\'s release, at once; one a kept release names stays', () => {
  const images = [image('sha256:a', ['slipway/dep_1:v1'], CUTOFF + 5), image('sha256:b', ['slipway/dep_1:v2'], CUTOFF + 5)];
  const facts = { ...none, collectedIds: new Set(['sha256:a']), keptIds: new Set(['sha256:b']) };
  assert.deepEqual(ids(imagesToRemove(images, facts, CUTOFF)), ['sha256:a']);
});

test('an image no version names goes only after the grace', () => {
  const images = [image('sha256:old', ['slipway/dep_1:v3'], CUTOFF - 1), image('sha256:new', ['slipway/dep_1:v4'], CUTOFF + 1), image('sha256:loose', [], CUTOFF - 1)];
  assert.deepEqual(ids(imagesToRemove(images, none, CUTOFF)), ['sha256:loose', 'sha256:old']);
});

test('an image a container uses, or a build under way tagged, stays whatever its age', () => {
  const images = [image('sha256:used', []), image('sha256:building', ['slipway/dep_1:v5']), image('sha256:shared', ['slipway/dep_1:v1'])];
  const facts = {
    ...none, inUseIds: new Set(['sha256:used']), buildingTags: new Set(['slipway/dep_1:v5']),
    // Two versions built the same image: one lost its release, the other keeps it.
    collectedIds: new Set(['sha256:used', 'sha256:shared']), keptIds: new Set(['sha256:shared']),
  };
  assert.deepEqual(imagesToRemove(images, facts, CUTOFF), []);
});

/**
 * An engine holding `rows` (as `/images/json` lists them), one container using `sha256:used`, and
 * 1000 bytes of build cache; it records every request and frees 600 bytes on a prune.
 */
function fakeEngine(rows: Array<{ Id: string; RepoTags: string[] | null; Created: number; Size: number }>): { api: EngineApi; sent: EngineRequest[] } {
  const sent: EngineRequest[] = [];
  const answers: Record<string, unknown> = {
    'GET /images/json': rows, 'GET /containers/json': [{ ImageID: 'sha256:used' }],
    'GET /system/df': { BuildCache: [{ Size: 300 }, { Size: 700 }] }, 'POST /build/prune': { SpaceReclaimed: 600 },
  };
  const api: EngineApi = {
    json: <T>(request: EngineRequest) => {
      sent.push(request);
      return Promise.resolve((request.method === 'DELETE' ? undefined : answers[`${request.method} ${request.path}`]) as T);
    },
    stream: () => Promise.reject(new Error('not used')),
    close: () => Promise.resolve(),
  };
  return { api, sent };
}

test('collectDockerImages on a real store: collected and old unnamed images go, kept, building, new and in-use ones stay; a dry run removes nothing', async () => {
  const { store, cleanup } = await openTestStore();
  try {
    const now = new Date();
    const { db } = store;
    await db.insert(tenants).values({ id: SEED.tenantId, name: 't', slug: 'default', displayName: 't', createdAt: now });
    await db.insert(projects).values({ id: SEED.projectId, tenantId: SEED.tenantId, name: 'p', createdAt: now });
    await db.insert(deployments).values({
      id: SEED.deploymentId, tenantId: SEED.tenantId, projectId: SEED.projectId, slug: 'app', name: 'app', spaFallback: false, nextVersionNumber: 4, createdAt: now, updatedAt: now,
    });
    const version = (n: number, state: string, release: { image: string; collectedAt: Date | null } | null) => db.insert(versions).values({
      id: `ver_${n}`, tenantId: SEED.tenantId, deploymentId: SEED.deploymentId, versionNumber: n, kind: 'dynamic', state, sourceSha256: 'a'.repeat(64),
      artifactSha256: release === null ? null : `${n}`.repeat(64), artifactCollectedAt: release?.collectedAt ?? null,
      releaseManifest: release === null ? null : ({ image: release.image } as unknown as DynamicReleaseManifest),
      requestedKind: 'auto', runtimeOptions: {}, env: {}, attempts: 1, createdBy: 'key_t', createdAt: now,
    });
    await version(1, 'ready', { image: 'sha256:collected', collectedAt: now });
    await version(2, 'ready', { image: 'sha256:kept', collectedAt: null });
    await version(3, 'building', null);
    const oldS = Math.floor(CUTOFF / 1000) - 10;
    const newS = Math.floor(CUTOFF / 1000) + 10;
    const { api, sent } = fakeEngine([
      { Id: 'sha256:collected', RepoTags: [imageTag(SEED.deploymentId, 1)], Created: oldS, Size: 1 },
      { Id: 'sha256:kept', RepoTags: [imageTag(SEED.deploymentId, 2)], Created: oldS, Size: 2 },
      { Id: 'sha256:building', RepoTags: [imageTag(SEED.deploymentId, 3)], Created: oldS, Size: 4 },
      { Id: 'sha256:old', RepoTags: ['<none>:<none>'], Created: oldS, Size: 8 },
      { Id: 'sha256:new', RepoTags: null, Created: newS, Size: 16 },
      { Id: 'sha256:used', RepoTags: null, Created: oldS, Size: 32 },
    ]);
    const writes = () => sent.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${decodeURIComponent(r.path)}`);

    // A dry run that would collect version 2's release too: its image would go with it.
    const dry = await collectDockerImages(db, api, { cutoffMs: CUTOFF, dryRun: true, collecting: new Set(['ver_2']), buildCacheMaxBytes: 400 });
    assert.deepEqual(dry, { images: { count: 3, bytes: 1 + 2 + 8 }, kept_images: { count: 3, bytes: 4 + 16 + 32 }, build_cache: { bytes: 600, kept_bytes: 400 } });
    assert.deepEqual(writes(), [], 'a dry run asks the engine nothing but questions');

    const run = await collectDockerImages(db, api, { cutoffMs: CUTOFF, dryRun: false, collecting: new Set(), buildCacheMaxBytes: 400 });
    assert.deepEqual(run, { images: { count: 2, bytes: 1 + 8 }, kept_images: { count: 4, bytes: 2 + 4 + 16 + 32 }, build_cache: { bytes: 600, kept_bytes: 400 } });
    // The tagged image by its tag only, the untagged one by id; the cache pruned to the bound.
    assert.deepEqual(writes(), [`DELETE /images/${imageTag(SEED.deploymentId, 1)}`, 'DELETE /images/sha256:old', 'POST /build/prune']);
    assert.deepEqual(sent.at(-1)?.query, { 'keep-storage': 400, all: true });
  } finally {
    await cleanup();
  }
});
