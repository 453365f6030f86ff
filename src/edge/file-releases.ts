import { rm } from 'node:fs/promises';
import { isSlipwayError } from '../core/errors.js';
import { fetchBlobs } from './blob-fetch.js';
import { FileCache } from './file-cache.js';
import { buildFileSite, manifestBlobs, readFileReleaseManifest } from './file-release-reader.js';
import type { EdgeLogger } from './logger.js';
import { releaseManifestPath, type ReleaseSourceConfig } from './release-source.js';
import type { SiteBuilderOptions } from './site-builder.js';
import type { FileVariant, Site } from './site.js';

/** Options for {@link FileReleases}. */
export interface FileReleasesConfig extends ReleaseSourceConfig {
  logger: EdgeLogger;
  /** What a load keeps in memory (as for a release tar). */
  readOptions: SiteBuilderOptions;
}

/**
 * The release cache's side of format-2 releases (src/core/release-format.ts): loads them from
 * `<stateDir>/releases/<sha>.json` and the per-file cache, and counts which cached files the
 * known releases (and those loading now) read, so that only files nothing reads are deleted.
 * A body a known release holds in memory is shared by every release naming the same file.
 */
export class FileReleases {
  readonly files: FileCache;
  readonly #config: FileReleasesConfig;
  /** Per-file blob → how many known or loading releases read it (absent: none). */
  readonly #refs = new Map<string, number>();
  /** Per-file blob → a variant of a known site that holds it (its body, while in memory, is shared). */
  readonly #holders = new Map<string, FileVariant>();
  #fetchedFiles = 0;
  #fetchedBytes = 0;

  constructor(config: FileReleasesConfig) {
    this.#config = config;
    this.files = new FileCache(config.stateDir);
  }

  /**
   * Loads release `sha` if its manifest is on disk ('missing' if not): cached files are
   * checked, missing (or damaged) ones fetched unless `offline`, which makes them
   * `blob_not_found`. A manifest that does not match its name is deleted ('missing').
   */
  async load(sha: string, offline: boolean): Promise<Site | 'missing'> {
    const { logger } = this.#config;
    const path = releaseManifestPath(this.#config.stateDir, sha);
    let manifest;
    try {
      manifest = await readFileReleaseManifest(path, sha);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      if (!isSlipwayError(err, 'blob_corrupt')) throw err;
      logger.warn({ sha256: sha }, 'deleted a corrupt release manifest from the disk cache');
      await rm(path, { force: true });
      return 'missing';
    }
    // Claimed while loading, so a release being forgotten meanwhile deletes none of them.
    const claimed = manifestBlobs(manifest).map((b) => b.sha256);
    this.#addRefs(claimed);
    const { readOptions } = this.#config;
    try {
      return await buildFileSite(manifest, path, {
        ...readOptions,
        files: this.files,
        inMemory: (file) => this.#holders.get(file)?.body ?? null,
        fetch: offline ? null : async (missing) => {
          const got = await fetchBlobs(this.#config, missing, {
            files: this.files, keepBytes: readOptions.maxMemoryFileBytes, maxKeptBytes: readOptions.maxResidentBytes,
          });
          this.#fetchedFiles += got.count;
          this.#fetchedBytes += got.bytes;
          logger.info({ sha256: sha, files: got.count, bytes: got.bytes }, 'fetched the release files the cache lacked');
          return got;
        },
      });
    } finally {
      this.#dropRefs(claimed);
    }
  }

  /** A site became known: its files are read, and its bodies in memory may be shared. */
  track(site: Site): void {
    if (site.fileBlobs.size === 0) return;
    this.#addRefs(site.fileBlobs);
    for (const entry of site.files.values()) {
      for (const v of [entry.identity, entry.br, entry.gzip]) if (v?.body) this.#holders.set(v.sha256, v);
    }
  }

  /** A site is no longer known; returns the cached files no other known release reads. */
  untrack(site: Site): string[] {
    return this.#dropRefs(site.fileBlobs);
  }

  /** Deletes cached files (those {@link untrack} freed), logging failures. */
  remove(shas: readonly string[]): void {
    for (const sha of shas) {
      this.files.remove(sha).catch((err: unknown) => this.#config.logger.warn({ err, sha256: sha }, 'could not delete a file from the disk cache'));
    }
  }

  /** The cached files known or loading releases read. */
  referenced(): ReadonlySet<string> {
    return new Set(this.#refs.keys());
  }

  /** Deletes a cached file unless a known or loading release reads it; true when deleted. */
  async removeUnreferenced(sha: string): Promise<boolean> {
    if (this.#refs.has(sha)) return false;
    await this.files.remove(sha);
    return true;
  }

  fetchStats(): { files: number; bytes: number } {
    return { files: this.#fetchedFiles, bytes: this.#fetchedBytes };
  }

  #addRefs(shas: Iterable<string>): void {
    for (const sha of shas) this.#refs.set(sha, (this.#refs.get(sha) ?? 0) + 1);
  }

  /** Drops one reference to each; returns the files nothing reads any more. */
  #dropRefs(shas: Iterable<string>): string[] {
    const free: string[] = [];
    for (const sha of shas) {
      const n = (this.#refs.get(sha) ?? 1) - 1;
      if (n > 0) {
        this.#refs.set(sha, n);
        continue;
      }
      this.#refs.delete(sha);
      this.#holders.delete(sha);
      free.push(sha);
    }
    return free;
  }
}
