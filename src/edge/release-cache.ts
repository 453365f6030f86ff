import { rm } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { SlipwayError, isSlipwayError } from '../core/errors.js';
import type { EdgeLogger } from './logger.js';
import { createLimiter } from '../util/limiter.js';
import { FileReleases } from './file-releases.js';
import { reloadBodies, readReleaseFile } from './release-reader.js';
import { downloadRelease, releaseFilePath, releaseManifestPath, type ReleaseSourceConfig } from './release-source.js';
import { dropBodies } from './site-builder.js';
import type { Site } from './site.js';

/** Releases read from disk at once (route-sync loads at most 4 active ones at a time too). */
const READ_SLOTS = 4;

/**
 * Files up to this size (each variant counted alone) are served from memory; larger ones
 * stream from the release tar. Site assets are nearly all below it, and a streamed response
 * costs ~6× the CPU of an in-memory one (MEASUREMENTS.md), which only matters for small files.
 */
export const DEFAULT_MAX_MEMORY_FILE_BYTES = 256 * 1024;

/** The default memory budget for release bodies: 1/8 of the host's memory. */
export function defaultEdgeMemoryBytes(): number {
  return Math.floor(totalmem() / 8);
}

/** Options for {@link createReleaseCache}. */
export interface ReleaseCacheConfig extends ReleaseSourceConfig {
  /** Most bytes of file bodies held in memory, active releases included; default 1/8 of RAM. */
  memoryBytes?: number;
  /** Largest body held in memory; default {@link DEFAULT_MAX_MEMORY_FILE_BYTES}. */
  maxMemoryFileBytes?: number;
  logger: EdgeLogger;
}

/** Options for {@link ReleaseCache.load}. */
export interface LoadOptions {
  /** Memory and disk only: used at start-up, when the server may be down. */
  offline?: boolean;
}

/** Counters for tests and metrics. */
export interface ReleaseCacheStats {
  /** Active releases. */
  pinned: number;
  /** Other releases the cache still knows (previews, rollback targets). */
  cached: number;
  /** Bytes of file bodies in memory now; at most {@link budgetBytes}. */
  residentBytes: number;
  budgetBytes: number;
  /** Releases fetched from the server. */
  downloads: number;
  /** Evicted releases whose small files were read back from disk. */
  reloads: number;
}

/**
 * Sites by `artifact_sha256`: memory, then `<stateDir>/releases/` (a tar, or a format-2
 * manifest whose files are in `<stateDir>/files/`), then the server.
 */
export interface ReleaseCache {
  /** The site if the cache knows it (in memory or evicted to disk); never does I/O. */
  get(sha256: string): Site | undefined;
  /**
   * The site from the cache, disk (verified) or the server (verified, then stored on disk).
   * Concurrent calls for one sha share a single load. Offline misses throw `blob_not_found`.
   */
  load(sha256: string, options?: LoadOptions): Promise<Site>;
  /**
   * Makes exactly these sites the pinned (active) set. `keep` names the other releases routes
   * still list (rollback targets, previews): those stay known, in memory while the budget
   * allows. Every other known site is forgotten: its memory is released and its tar deleted
   * from the disk cache at once. Without `keep`, sites leaving the pinned set are kept.
   */
  pin(sites: ReadonlyMap<string, Site>, keep?: ReadonlySet<string>): void;
  stats(): ReleaseCacheStats;
}

/**
 * What a bound on the edge's disk cache needs from the release cache: which per-file blobs
 * must stay, and a removal that is safe against a release loading at the same moment.
 */
export interface ReleaseFileRefs {
  /**
   * The per-file cache blobs (`<stateDir>/files/`) that known releases, and releases loading
   * now, read: a size bound must keep these. Every other cached file is safe to remove.
   */
  referencedFiles(): ReadonlySet<string>;
  /**
   * Deletes a per-file cache blob unless a known or loading release reads it; true when it was
   * deleted (or absent). A release that needs it later fetches it again.
   */
  removeFile(sha256: string): Promise<boolean>;
  /** Files and variants of format-2 releases fetched from the server so far, and their bytes. */
  fetchStats(): { files: number; bytes: number };
  /**
   * The releases that must stay in `<stateDir>/releases/`: those routes name, and those known,
   * loading or being deleted. Null until routes have been pinned with the names they list (the
   * cache cannot tell an unneeded release from one a route names then).
   */
  referencedReleases(): ReadonlySet<string> | null;
  /**
   * Deletes a release's tar or manifest from the disk cache unless {@link referencedReleases}
   * names it; true when deleted. A load of it that starts meanwhile waits, then downloads it.
   */
  removeRelease(sha256: string): Promise<boolean>;
}

/**
 * Creates a release cache. Small files of every known release are held in memory within one
 * budget; when it is exceeded the least recently used releases (active ones too) give their
 * memory back and serve from disk, and the next request to one reads its small files back in
 * the background. Large files always stream from disk. A release whose small files alone
 * exceed the budget is never held in memory.
 */
export function createReleaseCache(config: ReleaseCacheConfig): ReleaseCache & ReleaseFileRefs {
  const budget = config.memoryBytes ?? defaultEdgeMemoryBytes();
  // Previews are loaded on request, so any number may be asked for at once; each read keeps up to
  // a budget of bodies before enforce() counts them, so reads are READ_SLOTS at a time: the
  // excess while loading is bounded by a constant, not by how many versions a client names.
  const readOptions = { maxMemoryFileBytes: config.maxMemoryFileBytes ?? DEFAULT_MAX_MEMORY_FILE_BYTES, maxResidentBytes: budget };
  const readLimit = createLimiter(READ_SLOTS);
  const { logger } = config;
  const tracked = new Map<string, Site>();
  const shaOf = new WeakMap<Site, string>();
  let pinned = new Set<string>();
  let keep: ReadonlySet<string> | null = null;
  let residentBytes = 0;
  let tick = 0;
  let downloads = 0;
  let reloads = 0;
  const inflight = new Map<string, Promise<Site>>();
  /** Tars being deleted: a load of the same sha waits, so it never opens a file being removed. */
  const removing = new Map<string, Promise<void>>();
  const reloading = new Set<Site>();
  const fileReleases = new FileReleases({ ...config, readOptions });
  const untrack = (sha: string, site: Site): string[] => {
    tracked.delete(sha);
    return fileReleases.untrack(site);
  };
  // A site whose tar no longer matches what was loaded keeps serving from disk, not retrying.
  const broken = new WeakSet<Site>();

  const evictable = (site: Site) => site.resident && site.tarPath !== null;

  /** Forgets a site; returns the per-file blobs no other release reads. */
  const forget = (sha: string, site: Site): string[] => {
    const free = untrack(sha, site);
    if (evictable(site)) {
      residentBytes -= site.memoryBytes;
      dropBodies(site);
    }
    return free;
  };

  const track = (sha: string, site: Site) => {
    const old = tracked.get(sha);
    if (old === site) return;
    if (old !== undefined) forget(sha, old);
    tracked.set(sha, site);
    fileReleases.track(site);
    shaOf.set(site, sha);
    site.onUse = use;
    if (evictable(site)) residentBytes += site.memoryBytes;
  };

  const wanted = (sha: string) => pinned.has(sha) || keep === null || keep.has(sha);

  /** Evicts least recently used sites until the resident bytes fit the budget. */
  const enforce = () => {
    while (residentBytes > budget) {
      let victim: Site | null = null;
      for (const site of tracked.values()) {
        if (evictable(site) && (victim === null || site.lastUsed < victim.lastUsed)) victim = site;
      }
      if (victim === null) return;
      residentBytes -= victim.memoryBytes;
      dropBodies(victim);
      const sha = shaOf.get(victim) as string;
      // Without `keep` nothing bounds how many evicted previews would stay known.
      if (!pinned.has(sha) && keep === null) untrack(sha, victim);
    }
  };

  const reload = (site: Site) => {
    // One at a time: two hot sites that do not fit together would otherwise read each other
    // out of memory as fast as the disk allows.
    if (reloading.size > 0 || broken.has(site) || site.tarPath === null || site.memoryBytes > budget) return;
    reloading.add(site);
    // The bytes are reserved first, so making room happens before the reads, never after.
    residentBytes += site.memoryBytes;
    enforce();
    reloadBodies(site).then(
      () => {
        if (tracked.get(shaOf.get(site) as string) === site) {
          reloads++;
          return;
        }
        dropBodies(site);
        residentBytes -= site.memoryBytes;
      },
      (err: unknown) => {
        residentBytes -= site.memoryBytes;
        broken.add(site);
        logger.warn({ err, sha256: shaOf.get(site) }, 'release files not read back into memory; serving them from disk');
      },
    ).finally(() => reloading.delete(site));
  };

  // On every request: a counter write, plus a reload for a site that was evicted.
  function use(site: Site): void {
    site.lastUsed = ++tick;
    if (!site.resident) reload(site);
  }

  const read = async (sha: string): Promise<Site | 'missing'> => {
    const path = releaseFilePath(config.stateDir, sha);
    try {
      return await readLimit(() => readReleaseFile(path, sha, readOptions));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      if (!isSlipwayError(err, 'blob_corrupt')) throw err;
      logger.warn({ sha256: sha }, 'deleted a corrupt release from the disk cache');
      await rm(path, { force: true });
      return 'missing';
    }
  };

  /**
   * Deletes the tar or manifest of a release no route names any more, and the cached files
   * only it read (it is downloaded again if a route names it again).
   */
  const removeTar = (sha: string, freeFiles: readonly string[]): Promise<void> | null => {
    fileReleases.remove(freeFiles);
    if (inflight.has(sha) || inflight.has(`offline:${sha}`) || removing.has(sha)) return null;
    const paths = [releaseFilePath(config.stateDir, sha), releaseManifestPath(config.stateDir, sha)];
    const done = Promise.all(paths.map((path) => rm(path, { force: true })))
      .then(() => {})
      .catch((err: unknown) => logger.warn({ err, sha256: sha }, 'could not delete a release from the disk cache'))
      .finally(() => removing.delete(sha));
    removing.set(sha, done);
    return done;
  };

  const referencedReleases = (): Set<string> | null => {
    if (keep === null) return null;
    const shas = new Set([...keep, ...pinned, ...tracked.keys(), ...removing.keys()]);
    for (const key of inflight.keys()) shas.add(key.replace(/^offline:/, ''));
    return shas;
  };

  const loadFiles = (sha: string, offline: boolean) => readLimit(() => fileReleases.load(sha, offline));

  const fromDiskOrServer = async (sha: string, offline: boolean): Promise<Site> => {
    await removing.get(sha);
    const fromFiles = await loadFiles(sha, offline);
    if (fromFiles !== 'missing') return fromFiles;
    const cached = await read(sha);
    if (cached !== 'missing') return cached;
    if (offline) {
      throw new SlipwayError('blob_not_found', 'release is not in the disk cache', { details: { sha256: sha } });
    }
    downloads++;
    const path = await downloadRelease(config, sha);
    if (path === releaseManifestPath(config.stateDir, sha)) {
      const site = await loadFiles(sha, offline).catch(async (err: unknown) => {
        if (isSlipwayError(err, 'invalid_archive')) await rm(path, { force: true });
        throw err;
      });
      if (site === 'missing') throw new SlipwayError('blob_not_found', 'release manifest vanished from the disk cache', { details: { sha256: sha } });
      return site;
    }
    try {
      return await readLimit(() => readReleaseFile(path, sha, readOptions));
    } catch (err) {
      // A release that cannot be served is not worth a disk slot.
      await rm(path, { force: true });
      throw err;
    }
  };

  return {
    get: (sha) => tracked.get(sha),
    load(sha, options = {}) {
      const hit = tracked.get(sha);
      if (hit !== undefined) return Promise.resolve(hit);
      const offline = options.offline === true;
      // An offline load must not join an online one (or the reverse) with other semantics.
      const key = offline ? `offline:${sha}` : sha;
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = fromDiskOrServer(sha, offline)
          .then((site) => {
            const known = tracked.get(sha);
            if (known !== undefined) return known;
            track(sha, site);
            site.lastUsed = ++tick;
            enforce();
            return site;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    pin(sites, keepShas) {
      pinned = new Set(sites.keys());
      keep = keepShas ?? null;
      for (const [sha, site] of sites) track(sha, site);
      for (const [sha, site] of tracked) {
        if (wanted(sha)) continue;
        void removeTar(sha, forget(sha, site));
      }
      enforce();
    },
    stats: () => ({
      pinned: pinned.size,
      cached: tracked.size - [...pinned].filter((sha) => tracked.has(sha)).length,
      residentBytes,
      budgetBytes: budget,
      downloads,
      reloads,
    }),
    fetchStats: () => fileReleases.fetchStats(),
    referencedFiles: () => fileReleases.referenced(),
    removeFile: (sha) => fileReleases.removeUnreferenced(sha),
    referencedReleases,
    async removeRelease(sha) {
      // Decided and started in one synchronous step: a load from now on waits for the delete.
      if (referencedReleases()?.has(sha) !== false) return false;
      const done = removeTar(sha, []);
      if (done === null) return false;
      await done;
      return true;
    },
  };
}
