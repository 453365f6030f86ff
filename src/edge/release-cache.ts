import { SlipwayError } from '../core/errors.js';
import type { EdgeLogger } from './logger.js';
import { fetchRelease, readCachedRelease, writeCachedRelease, type ReleaseSourceConfig } from './release-source.js';
import { loadSite, type Site } from './site.js';

/** Options for {@link createReleaseCache}. */
export interface ReleaseCacheConfig extends ReleaseSourceConfig {
  /** Memory bound for releases that are not active anywhere (previews). Default 256 MiB. */
  maxPreviewBytes?: number;
  logger: EdgeLogger;
}

/** Options for {@link ReleaseCache.load}. */
export interface LoadOptions {
  /** Memory and disk only: used at start-up, when the server may be down. */
  offline?: boolean;
}

/** Sites by `artifact_sha256`: memory, then `<stateDir>/releases/`, then the server. */
export interface ReleaseCache {
  /** The site if it is in memory; never does I/O (the request path's first try). */
  get(sha256: string): Site | undefined;
  /**
   * The site from memory, disk (verified) or the server (verified, then stored on disk).
   * Concurrent calls for one sha share a single load. Offline misses throw `blob_not_found`.
   */
  load(sha256: string, options?: LoadOptions): Promise<Site>;
  /**
   * Makes exactly these sites the pinned (active) set. Sites that leave it join the preview
   * LRU rather than being dropped: they are often the next rollback or preview.
   */
  pin(sites: ReadonlyMap<string, Site>): void;
  /** Counters for tests and metrics. */
  stats(): { pinned: number; cached: number; cachedBytes: number; downloads: number };
}

/**
 * Creates a release cache. Active releases are pinned in memory; the others live in an LRU
 * bounded by total bytes (the most recent one is kept even when alone it exceeds the bound,
 * since re-reading it per request would cost far more than the memory).
 */
export function createReleaseCache(config: ReleaseCacheConfig): ReleaseCache {
  const maxBytes = config.maxPreviewBytes ?? 256 * 1024 * 1024;
  let pinned = new Map<string, Site>();
  // Map iteration order is insertion order, so re-inserting on use makes it an LRU.
  const lru = new Map<string, Site>();
  let lruBytes = 0;
  let downloads = 0;
  const inflight = new Map<string, Promise<Site>>();

  const remember = (sha: string, site: Site) => {
    if (pinned.has(sha)) return;
    const old = lru.get(sha);
    if (old !== undefined) {
      lru.delete(sha);
      lruBytes -= old.byteSize;
    }
    lru.set(sha, site);
    lruBytes += site.byteSize;
    for (const [victim, victimSite] of lru) {
      if (lruBytes <= maxBytes || lru.size <= 1) break;
      lru.delete(victim);
      lruBytes -= victimSite.byteSize;
    }
  };

  const fromDiskOrServer = async (sha: string, offline: boolean): Promise<Site> => {
    const cached = await readCachedRelease(config.stateDir, sha);
    if (Buffer.isBuffer(cached)) return loadSite(cached);
    if (cached === 'corrupt') config.logger.warn({ sha256: sha }, 'deleted a corrupt release from the disk cache');
    if (offline) {
      throw new SlipwayError('blob_not_found', 'release is not in the disk cache', { details: { sha256: sha } });
    }
    downloads++;
    const bytes = await fetchRelease(config, sha);
    // Parse before storing: a release that cannot be served is not worth a disk slot.
    const site = loadSite(bytes);
    await writeCachedRelease(config.stateDir, sha, bytes);
    return site;
  };

  const get = (sha: string): Site | undefined => {
    const site = pinned.get(sha);
    if (site !== undefined) return site;
    const hit = lru.get(sha);
    if (hit !== undefined) {
      lru.delete(sha);
      lru.set(sha, hit);
    }
    return hit;
  };

  return {
    get,
    load(sha, options = {}) {
      const hit = get(sha);
      if (hit !== undefined) return Promise.resolve(hit);
      const offline = options.offline === true;
      // An offline load must not join an online one (or the reverse) with other semantics.
      const key = offline ? `offline:${sha}` : sha;
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = fromDiskOrServer(sha, offline)
          .then((site) => {
            remember(sha, site);
            return site;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
    pin(sites) {
      const previous = pinned;
      pinned = new Map(sites);
      for (const sha of pinned.keys()) {
        const old = lru.get(sha);
        if (old === undefined) continue;
        lru.delete(sha);
        lruBytes -= old.byteSize;
      }
      for (const [sha, site] of previous) if (!pinned.has(sha)) remember(sha, site);
    },
    stats: () => ({ pinned: pinned.size, cached: lru.size, cachedBytes: lruBytes, downloads }),
  };
}
