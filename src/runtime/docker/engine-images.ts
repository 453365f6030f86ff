/**
 * Upkeep of a Slipway-owned engine's disk: the images Slipway built or loaded (labelled
 * {@link OWNER_LABEL}) and BuildKit's build cache. Garbage collection decides what goes
 * (`src/services/gc/docker-images.ts`); this file only speaks the Engine API. Base images an
 * operator imported carry no label and are never listed here.
 */
import { isSlipwayError } from '../../core/errors.js';
import type { EngineApi } from './engine-api.js';
import { OWNER_LABEL } from './engine.js';

/** One image Slipway made on the engine. */
export interface OwnedImage {
  /** `sha256:…`, the image id (a dynamic release's `image`). */
  id: string;
  /** Its tags (`slipway/<deployment id>:v<n>`); none for an image loaded back from a release. */
  tags: string[];
  /** When it was built (ms since the epoch). */
  createdAtMs: number;
  /** The engine's size of it, base layers included. */
  bytes: number;
}

/** The tag a build gives its image: `slipway/<deployment id>:v<n>` (read back by {@link parseImageTag}). */
export function imageTag(deploymentId: string, versionNumber: number): string {
  return `slipway/${deploymentId}:v${versionNumber}`;
}

const TAG_RE = /^slipway\/(dep_[0-9a-z]+):v(\d+)$/;

/** The deployment and version an {@link imageTag} names; null for any other tag. */
export function parseImageTag(tag: string): { deploymentId: string; versionNumber: number } | null {
  const m = TAG_RE.exec(tag);
  return m ? { deploymentId: m[1] as string, versionNumber: Number(m[2]) } : null;
}

/** What a caller may pass every request here: a signal that ends it (a stopping server). */
export interface EngineCallOptions {
  signal?: AbortSignal;
}

/** Every image carrying Slipway's owner label. */
export async function listOwnedImages(api: EngineApi, options: EngineCallOptions = {}): Promise<OwnedImage[]> {
  const rows = await api.json<Array<{ Id: string; RepoTags: string[] | null; Created: number; Size: number }>>({
    method: 'GET', path: '/images/json', query: { filters: { label: [`${OWNER_LABEL}=true`] } }, signal: options.signal,
  });
  return rows.map((r) => ({
    id: r.Id,
    // The engine names an untagged image `<none>:<none>`.
    tags: (r.RepoTags ?? []).filter((t) => t !== '<none>:<none>'),
    createdAtMs: r.Created * 1000,
    bytes: r.Size,
  }));
}

/**
 * Removes an image as it was listed: a tagged one by its listed tags only, an untagged one by
 * id. Never by id once it had tags: between the listing and now a build may have tagged the
 * same image again (a redeploy whose build yields the same id), and the engine deletes the image
 * itself with its last tag, keeping it while another tag names it. Never forced, so an image a
 * container uses (running or not) stays: the engine refuses with 409, and this answers
 * `in_use`, as it does for an untagged image that has a tag now. An image or tag already gone
 * counts as removed.
 */
export async function removeImage(api: EngineApi, image: Pick<OwnedImage, 'id' | 'tags'>, options: EngineCallOptions = {}): Promise<'removed' | 'in_use'> {
  // Listed untagged, tagged since (a fully cached rebuild yields the same id): a build's now.
  // This narrows that race to the moment between the two requests; it does not close it.
  if (image.tags.length === 0 && (await tagsNow(api, image.id, options)).length > 0) return 'in_use';
  for (const ref of image.tags.length > 0 ? image.tags : [image.id]) {
    try {
      await api.json({ method: 'DELETE', path: `/images/${encodeURIComponent(ref)}`, timeoutMs: 60_000, signal: options.signal });
    } catch (err) {
      if (isSlipwayError(err, 'not_found')) continue;
      if (isSlipwayError(err) && err.details.statusCode === 409) return 'in_use';
      throw err;
    }
  }
  return 'removed';
}

async function tagsNow(api: EngineApi, id: string, options: EngineCallOptions): Promise<string[]> {
  try {
    const info = await api.json<{ RepoTags?: string[] | null }>({ method: 'GET', path: `/images/${encodeURIComponent(id)}/json`, signal: options.signal });
    return (info?.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
  } catch (err) {
    if (isSlipwayError(err, 'not_found')) return [];
    throw err;
  }
}

/** The bytes of BuildKit's build cache on the engine. */
export async function buildCacheBytes(api: EngineApi, options: EngineCallOptions = {}): Promise<number> {
  const df = await api.json<{ BuildCache?: Array<{ Size?: number }> | null }>({ method: 'GET', path: '/system/df', timeoutMs: 60_000, signal: options.signal });
  return (df.BuildCache ?? []).reduce((sum, r) => sum + (r.Size ?? 0), 0);
}

/**
 * Prunes BuildKit's cache down to `keepBytes` (oldest first, what a running build uses stays).
 * `all`, as `docker builder prune -a --keep-storage` sends: without it the engine leaves out
 * records it counts as shared or internal, and the cache can stay above the bound.
 * Returns the bytes the engine says it freed.
 */
export async function pruneBuildCache(api: EngineApi, keepBytes: number, options: EngineCallOptions = {}): Promise<number> {
  const answer = await api.json<{ SpaceReclaimed?: number }>({
    method: 'POST', path: '/build/prune', query: { 'keep-storage': keepBytes, all: true }, timeoutMs: 10 * 60_000, signal: options.signal,
  });
  return answer?.SpaceReclaimed ?? 0;
}
