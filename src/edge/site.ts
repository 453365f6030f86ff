import type { FileEntry } from './file-entry.js';

export type { FileEntry, FileVariant } from './file-entry.js';

/**
 * A loaded static release. Small bodies are held in memory while the site is resident; large
 * ones, and every body of an evicted site, are streamed from disk (the release tar, or the
 * per-file cache for a format-2 release).
 */
export interface Site {
  /**
   * Request path (leading slash, decoded, no query) → file. Besides each file's own path it
   * holds the aliases resolved once at load: `/dir/` and `/dir` → `dir/index.html`, then
   * `/about` → `about.html`, so a request costs a single map lookup.
   */
  readonly paths: ReadonlyMap<string, FileEntry>;
  /** Manifest path (no leading slash) → file. */
  readonly files: ReadonlyMap<string, FileEntry>;
  /** `index.html` at the root, the SPA fallback target. */
  readonly index: FileEntry | null;
  /** The release's own `404.html` at the root. */
  readonly notFound: FileEntry | null;
  /**
   * The release on disk: its tar (format 1, which holds the bodies not in memory) or its
   * manifest (format 2, whose bodies are in the per-file cache, see `fileBlobs`); null when all
   * bodies are in memory for good (from a Buffer).
   */
  readonly tarPath: string | null;
  /** The per-file cache blobs (format 2) the site's bodies are read from; empty for a tar. */
  readonly fileBlobs: ReadonlySet<string>;
  /** Bytes of the small bodies: what the site holds in memory while resident. */
  readonly memoryBytes: number;
  /** True while the small bodies are in memory; the release cache clears and restores it. */
  resident: boolean;
  /** When the site last served a request, on the release cache's clock (for LRU eviction). */
  lastUsed: number;
  /** Called by the request path on every request this site serves (set by the release cache). */
  onUse: (site: Site) => void;
}
