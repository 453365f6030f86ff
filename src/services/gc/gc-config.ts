import type { RetentionPolicy } from './retention.js';

/** Garbage collection settings (docs/configuration.md). */
export interface GcConfig extends RetentionPolicy {
  /**
   * Blobs written less than this long before a collection starts are never swept, referenced
   * or not: a publish holds its snapshot and release unreferenced for at most its upload and
   * build, so this must be longer than both (SLIPWAY_GC_GRACE_MS).
   */
  graceMs: number;
  /** How often the server collects on its own; 0 never (SLIPWAY_GC_INTERVAL_MS). */
  intervalMs: number;
  /** The first automatic collection runs this long after start. */
  firstRunDelayMs: number;
  /** BuildKit's build cache on the Docker engine is pruned down to this (SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES). */
  buildCacheMaxBytes: number;
}

/** SLIPWAY_RETAIN_VERSIONS when unset. */
export const DEFAULT_RETAIN_VERSIONS = 20;
/** SLIPWAY_RETAIN_DAYS when unset. */
export const DEFAULT_RETAIN_DAYS = 30;
/** SLIPWAY_GC_GRACE_MS when unset: one hour, and at least twice the build time limit ({@link defaultGcGraceMs}). */
export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;

/**
 * SLIPWAY_GC_GRACE_MS when unset, for a build time limit: a publish holds blobs unreferenced
 * for its upload plus its build, so the grace outlasts twice the limit, and is never under an hour.
 */
export function defaultGcGraceMs(buildTimeoutMs: number): number {
  return Math.max(DEFAULT_GC_GRACE_MS, 2 * buildTimeoutMs);
}
/** SLIPWAY_GC_INTERVAL_MS when unset: every six hours. */
export const DEFAULT_GC_INTERVAL_MS = 6 * 60 * 60 * 1000;

/** SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES when unset: 2 GiB, room for a few apps' layers. */
export const DEFAULT_BUILD_CACHE_MAX_BYTES = 2 * 1024 ** 3;

/** The defaults, for a server given no settings. */
export const DEFAULT_GC_CONFIG: GcConfig = {
  keepVersions: DEFAULT_RETAIN_VERSIONS, keepDays: DEFAULT_RETAIN_DAYS, graceMs: DEFAULT_GC_GRACE_MS,
  intervalMs: DEFAULT_GC_INTERVAL_MS, firstRunDelayMs: 5 * 60 * 1000, buildCacheMaxBytes: DEFAULT_BUILD_CACHE_MAX_BYTES,
};
