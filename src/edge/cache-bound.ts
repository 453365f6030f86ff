import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { listFileEntries, listReleaseEntries, type CacheEntry } from './cache-entries.js';
import type { EdgeLogger } from './logger.js';

/** What the bound asks of the cache it trims: what must stay, and safe removals. */
export interface CacheBoundRefs {
  /** Files (by sha256) that a loaded or loading release reads: never removed. */
  referencedFiles(): ReadonlySet<string>;
  /** Removes one file unless something reads it now; true when removed (or already gone). */
  removeFile(sha256: string): Promise<boolean>;
  /**
   * Releases (by sha256) a route names, or that are known, loading or being removed: never
   * removed. Null while the edge does not know yet what its routes name: no release goes then.
   */
  referencedReleases?(): ReadonlySet<string> | null;
  /** Removes a release's tar and manifest unless it is referenced now; true when removed. */
  removeRelease?(sha256: string): Promise<boolean>;
}

/** Options of {@link enforceCacheBound}. */
export interface CacheBoundOptions {
  /** A content-addressed folder: files named by their sha256, directly or one folder down (`ab/<sha256>`). */
  dir: string;
  /** The releases folder (`<sha256>.tar`, `<sha256>.json`), counted and trimmed with `dir`. */
  releasesDir?: string;
  /** Most bytes the folders may hold together (SLIPWAY_EDGE_CACHE_MAX_BYTES). */
  maxBytes: number;
  /**
   * A release nothing references is removed once unused this long, whatever the bound (before,
   * only past the bound); default {@link DEFAULT_RELEASE_GRACE_MS}. Unused means both: its files
   * were last read or written this long ago, and this long ago a pass given
   * {@link unreferencedSince} first found it unreferenced (a release referenced for days, served
   * from memory, has old file times but only just stopped being used).
   */
  releaseGraceMs?: number;
  /**
   * When each release was first found unreferenced, kept across passes by the caller and
   * updated in place ({@link startCacheBound} keeps one); without it the grace runs from the
   * file times alone.
   */
  unreferencedSince?: Map<string, number>;
  /** The clock (tests). */
  now?: () => number;
  refs: CacheBoundRefs;
}

/** What one pass did. */
export interface CacheBoundResult {
  /** Bytes in the folders before the pass. */
  bytesBefore: number;
  /** Files and releases removed and their bytes. */
  removed: number;
  removedBytes: number;
  /** Of {@link removed}, the releases. */
  releasesRemoved: number;
}

/** How long a release no route names stays on disk (a route naming it again soon costs no download). */
export const DEFAULT_RELEASE_GRACE_MS = 10 * 60_000;
/** The default bound's fixed part: the edge's caches take at most this… */
export const DEFAULT_CACHE_MAX_BYTES = 2 * 1024 ** 3;
/** …and at most this share of the file system they are on. */
export const DEFAULT_CACHE_FS_SHARE = 0.1;

/**
 * The default bound of the edge's disk caches for `stateDir`: the smaller of
 * {@link DEFAULT_CACHE_MAX_BYTES} and {@link DEFAULT_CACHE_FS_SHARE} of its file system's size
 * (asked once, at start-up, of the nearest folder that exists; the fixed size if it cannot be).
 */
export function defaultCacheMaxBytes(stateDir: string): number {
  let path = stateDir;
  for (;;) {
    try {
      const fs = statfsSync(path);
      return Math.min(DEFAULT_CACHE_MAX_BYTES, Math.floor(fs.blocks * fs.bsize * DEFAULT_CACHE_FS_SHARE));
    } catch (err) {
      // A file system that cannot be measured still gets the fixed bound, never none.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(path) === path) return DEFAULT_CACHE_MAX_BYTES;
      path = dirname(path);
    }
  }
}

/**
 * Keeps the edge's disk caches under a size. Releases no route names (nor any load or request
 * uses) go once unused for the grace ({@link CacheBoundOptions.releaseGraceMs}); then, while the folders hold more than `maxBytes`, the
 * least recently used files and releases nothing references go until they fit. What is
 * referenced stays even past the bound (the edge needs it to serve); what goes is fetched
 * again on demand. The layout is the caches': only names of sha256s count, temp files do not.
 */
export async function enforceCacheBound(options: CacheBoundOptions): Promise<CacheBoundResult> {
  const { refs } = options;
  const files = await listFileEntries(options.dir);
  const releases = options.releasesDir === undefined ? [] : await listReleaseEntries(options.releasesDir);
  const bytesBefore = [...files, ...releases].reduce((sum, e) => sum + e.size, 0);
  const result: CacheBoundResult = { bytesBefore, removed: 0, removedBytes: 0, releasesRemoved: 0 };
  const remove = async (entry: CacheEntry): Promise<boolean> => {
    const gone = entry.kind === 'file' ? await refs.removeFile(entry.sha256) : await refs.removeRelease?.(entry.sha256) === true;
    if (!gone) return false;
    result.removed++;
    result.removedBytes += entry.size;
    if (entry.kind === 'release') result.releasesRemoved++;
    return true;
  };
  const keepReleases = refs.removeRelease === undefined ? null : refs.referencedReleases?.() ?? null;
  const unusedReleases = keepReleases === null ? [] : releases.filter((r) => !keepReleases.has(r.sha256));
  const now = (options.now ?? Date.now)();
  const graceMs = options.releaseGraceMs ?? DEFAULT_RELEASE_GRACE_MS;
  const since = options.unreferencedSince;
  if (since !== undefined && keepReleases !== null) {
    const unused = new Set(unusedReleases.map((r) => r.sha256));
    for (const sha of since.keys()) if (!unused.has(sha)) since.delete(sha);
    for (const sha of unused) if (!since.has(sha)) since.set(sha, now);
  }
  const idleSince = (r: CacheEntry) => Math.max(r.usedAtMs, since?.get(r.sha256) ?? -Infinity);
  const stale = new Set<CacheEntry>();
  for (const release of unusedReleases) if (now - idleSince(release) >= graceMs && (await remove(release))) stale.add(release);
  let total = bytesBefore - result.removedBytes;
  if (total <= options.maxBytes) return result;
  const keepFiles = refs.referencedFiles();
  const candidates = [...files.filter((f) => !keepFiles.has(f.sha256)), ...unusedReleases.filter((r) => !stale.has(r))];
  for (const entry of candidates.sort((a, b) => a.usedAtMs - b.usedAtMs)) {
    if (total <= options.maxBytes) break;
    if (await remove(entry)) total -= entry.size;
  }
  return result;
}

/**
 * Runs {@link enforceCacheBound} every `everyMs` (and on {@link CacheBoundTimer.check}), one
 * pass at a time; a failed pass is logged and the next one tries again.
 */
export function startCacheBound(options: CacheBoundOptions & { everyMs: number; logger: EdgeLogger }): CacheBoundTimer {
  let running: Promise<void> | null = null;
  const unreferencedSince = options.unreferencedSince ?? new Map<string, number>();
  const check = (): Promise<void> => {
    running ??= enforceCacheBound({ ...options, unreferencedSince }).then(
      (r) => {
        if (r.removed > 0) {
          options.logger.info({ removed: r.removed, releases: r.releasesRemoved, bytes: r.removedBytes, before: r.bytesBefore, max: options.maxBytes }, 'trimmed the edge disk cache');
        }
      },
      (err: unknown) => options.logger.warn({ err }, 'could not trim the edge disk cache'),
    ).finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void check(), options.everyMs);
  timer.unref();
  return {
    check,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** A running bound. */
export interface CacheBoundTimer {
  /** Runs a pass now (or joins the one running). */
  check(): Promise<void>;
  stop(): Promise<void>;
}
