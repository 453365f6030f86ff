/**
 * Garbage collection on the Docker engine (SLIPWAY_RUNTIME_DRIVER=docker): the images Slipway
 * built, and BuildKit's build cache (docs/operations.md#disk-and-garbage-collection). An image
 * is a copy of its version's release (the release blob holds it saved, and the agent loads it
 * back when the engine lacks it), so it goes with the release, or, when no version names it at
 * all (a failed build's leftover), once it is older than the grace.
 */
import { and, inArray, isNotNull, sql } from 'drizzle-orm';
import type { EngineApi } from '../../runtime/docker/engine-api.js';
import {
  buildCacheBytes, imageTag, listOwnedImages, parseImageTag, pruneBuildCache, removeImage, type OwnedImage,
} from '../../runtime/docker/engine-images.js';
import { versions } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/** What a collection did (would do) on the engine. */
export interface DockerGcResult {
  /** Images removed (a dry run: that would be), with the engine's size of each. */
  images: { count: number; bytes: number };
  /** Images kept: named by a version that keeps its release, in use by a container, or too recent. */
  kept_images: { count: number; bytes: number };
  /** BuildKit cache freed (a dry run: what exceeds the bound), and what stays. */
  build_cache: { bytes: number; kept_bytes: number };
}

/** The result of a server without an engine, or an engine that did not answer: a fresh object each call. */
export function noDockerGc(): DockerGcResult {
  return { images: { count: 0, bytes: 0 }, kept_images: { count: 0, bytes: 0 }, build_cache: { bytes: 0, kept_bytes: 0 } };
}

/** What the store says about the versions an image's id and tags name. */
export interface ImageFacts {
  /** Image ids named by a version that keeps its release. */
  keptIds: ReadonlySet<string>;
  /** Image ids named by a version whose release is (or, in a dry run, would be) collected. */
  collectedIds: ReadonlySet<string>;
  /** Tags of versions still queued or building: their image is not recorded yet. */
  buildingTags: ReadonlySet<string>;
  /** Image ids a container uses (running or not): the engine refuses to remove them. */
  inUseIds: ReadonlySet<string>;
}

/**
 * Which images go: one named by a version that keeps its release stays, and so does one a
 * build still under way tagged or a container uses; one whose version's release was collected
 * goes at once; one no version names goes once it was built before `cutoffMs`.
 */
export function imagesToRemove(images: readonly OwnedImage[], facts: ImageFacts, cutoffMs: number): OwnedImage[] {
  return images.filter((image) => {
    if (facts.keptIds.has(image.id) || facts.inUseIds.has(image.id)) return false;
    if (image.tags.some((t) => facts.buildingTags.has(t))) return false;
    return facts.collectedIds.has(image.id) || image.createdAtMs < cutoffMs;
  });
}

async function imageFacts(db: Db, api: EngineApi, seen: { images: readonly OwnedImage[]; collecting: ReadonlySet<string>; signal?: AbortSignal }): Promise<ImageFacts> {
  const { images, collecting, signal } = seen;
  const keptIds = new Set<string>();
  const collectedIds = new Set<string>();
  const ids = images.map((i) => i.id);
  const imageOf = sql<string | null>`${versions.releaseManifest}->>'image'`;
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.select({ id: versions.id, image: imageOf, collectedAt: versions.artifactCollectedAt }).from(versions)
      .where(and(isNotNull(versions.artifactSha256), inArray(imageOf, ids.slice(i, i + 500))));
    for (const r of rows) {
      if (r.image === null) continue;
      if (r.collectedAt !== null || collecting.has(r.id)) collectedIds.add(r.image);
      else keptIds.add(r.image);
    }
  }
  const tagged = images.flatMap((i) => i.tags).flatMap((tag) => {
    const named = parseImageTag(tag);
    return named ? [{ tag, deploymentId: named.deploymentId }] : [];
  });
  const buildingTags = new Set<string>();
  const deploymentIds = [...new Set(tagged.map((t) => t.deploymentId))];
  for (let i = 0; i < deploymentIds.length; i += 500) {
    const rows = await db.select({ deploymentId: versions.deploymentId, number: versions.versionNumber }).from(versions)
      .where(and(inArray(versions.deploymentId, deploymentIds.slice(i, i + 500)), inArray(versions.state, ['queued', 'building'])));
    const busy = new Set(rows.map((r) => imageTag(r.deploymentId, r.number)));
    for (const t of tagged) if (busy.has(t.tag)) buildingTags.add(t.tag);
  }
  signal?.throwIfAborted();
  const containers = await api.json<Array<{ ImageID: string }>>({ method: 'GET', path: '/containers/json', query: { all: true }, signal });
  return { keptIds, collectedIds, buildingTags, inUseIds: new Set(containers.map((c) => c.ImageID)) };
}

/** Options of {@link collectDockerImages}. */
export interface DockerGcOptions {
  /** Images no version names, built before this, go. */
  cutoffMs: number;
  dryRun: boolean;
  /** In a dry run: the versions whose releases would be collected (their images would go). */
  collecting: ReadonlySet<string>;
  /** BuildKit's cache is pruned down to this many bytes (SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES). */
  buildCacheMaxBytes: number;
  /** Aborted when the server stops: ends the request under way and skips the steps left. */
  signal?: AbortSignal;
}

/**
 * Removes the images that go ({@link imagesToRemove}) and prunes the build cache to its bound.
 * An aborted `signal` throws its reason between steps and ends the request under way (a prune
 * may take minutes; a stopping server must not wait for it).
 */
export async function collectDockerImages(db: Db, api: EngineApi, options: DockerGcOptions): Promise<DockerGcResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const images = await listOwnedImages(api, { signal });
  const facts = await imageFacts(db, api, { images, collecting: options.collecting, signal });
  const going = new Set(imagesToRemove(images, facts, options.cutoffMs).map((i) => i.id));
  const result = noDockerGc();
  for (const image of images) {
    if (going.has(image.id)) signal?.throwIfAborted();
    // A container created since the listing (a wake) makes the engine refuse: kept.
    const removed = going.has(image.id) && (options.dryRun || (await removeImage(api, image, { signal })) === 'removed');
    const into = removed ? result.images : result.kept_images;
    into.count++;
    into.bytes += image.bytes;
  }
  signal?.throwIfAborted();
  const cacheBytes = await buildCacheBytes(api, { signal });
  const excess = Math.max(0, cacheBytes - options.buildCacheMaxBytes);
  signal?.throwIfAborted();
  const freed = options.dryRun || excess === 0 ? excess : await pruneBuildCache(api, options.buildCacheMaxBytes, { signal });
  result.build_cache = { bytes: freed, kept_bytes: Math.max(0, cacheBytes - freed) };
  return result;
}
