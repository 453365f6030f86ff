import { readFile } from 'node:fs/promises';
import { SlipwayError, isSlipwayError } from '../core/errors.js';
import {
  RELEASE_ENCODINGS,
  RELEASE_FORMAT_VERSION,
  type FileReleaseManifest,
  type ReleaseEncoding,
  type ReleaseManifest,
} from '../core/release-format.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { sha256Buffer } from '../util/sha256.js';
import type { BlobRef, FetchedBlobs } from './blob-fetch.js';
import type { FileCache } from './file-cache.js';
import { parseFileReleaseManifest } from './file-release-manifest.js';
import { SiteBuilder, type SiteBuilderOptions } from './site-builder.js';
import type { Site } from './site.js';

/** A manifest lists at most tens of thousands of files (~300 bytes each). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/** Cache lookups and reads in flight while a release loads. */
const DISK_CONCURRENCY = 16;

/**
 * Reads a format-2 manifest saved at `path` and checks it against its name: `blob_corrupt`
 * when the bytes do not match `sha256`, `invalid_archive` when they match but are no valid
 * manifest, ENOENT when it is not there.
 */
export async function readFileReleaseManifest(path: string, sha256: string): Promise<FileReleaseManifest> {
  const bytes = await readFile(path);
  if (bytes.length > MAX_MANIFEST_BYTES || sha256Buffer(bytes) !== sha256) {
    throw new SlipwayError('blob_corrupt', 'release manifest does not match its sha256', { details: { path } });
  }
  return parseFileReleaseManifest(bytes);
}

/** Every blob a manifest names besides itself, each once, with its size. */
export function manifestBlobs(manifest: FileReleaseManifest): BlobRef[] {
  const blobs = new Map<string, number>();
  for (const f of manifest.files) {
    blobs.set(f.sha256, f.size);
    for (const enc of RELEASE_ENCODINGS) {
      const v = f.variants[enc];
      if (v !== undefined) blobs.set(v.sha256, v.size);
    }
  }
  return [...blobs].map(([sha256, size]) => ({ sha256, size }));
}

/** Options for {@link buildFileSite}. */
export interface FileSiteOptions extends SiteBuilderOptions {
  files: FileCache;
  /** Fetches blobs the cache lacks into it; null when offline (a missing blob is then `blob_not_found`). */
  fetch: ((missing: BlobRef[]) => Promise<FetchedBlobs>) | null;
  /**
   * A checked body another loaded release holds in memory now, if any: shared instead of read
   * again, so a republish reads from disk only what changed.
   */
  inMemory?: (sha256: string) => Buffer | null;
}

/**
 * Builds the {@link Site} of a format-2 release from its checked manifest and the per-file
 * cache: blobs the cache lacks are fetched first (only those), then small bodies are held in
 * memory (read back and checked against their names, or taken from the fetch just done) and
 * large ones checked once and streamed from their cached file. `manifestPath` becomes the
 * site's `tarPath`: the release is on disk, so the release cache may evict it.
 */
export async function buildFileSite(manifest: FileReleaseManifest, manifestPath: string, options: FileSiteOptions): Promise<Site> {
  const { files } = options;
  const blobs = manifestBlobs(manifest);
  // A body a loaded release holds is on disk too: the release cache deletes no file a known
  // release reads. So a republish looks up on disk only what it does not already hold.
  const present = await mapConcurrent(blobs, DISK_CONCURRENCY, async (b) => (options.inMemory?.(b.sha256) ?? null) !== null || files.has(b.sha256, b.size));
  const missing = blobs.filter((_, i) => !present[i]);
  let fetched = new Map<string, Buffer>();
  if (missing.length > 0) {
    if (options.fetch === null) {
      throw new SlipwayError('blob_not_found', 'release files are not in the disk cache', { details: { missing: missing.length } });
    }
    fetched = (await options.fetch(missing)).bodies;
  }
  const builder = new SiteBuilder(asTarManifest(manifest), options);
  const sources = manifest.files.flatMap((f) => [
    { name: `files/${f.path}`, sha256: f.sha256, size: f.size },
    ...RELEASE_ENCODINGS.flatMap((enc) => {
      const v = f.variants[enc];
      return v === undefined ? [] : [{ name: `${enc}/${f.path}`, sha256: v.sha256, size: v.size }];
    }),
  ]);
  // expect() decides in order what is kept within the budget, so it runs first, in order.
  const kept = sources.map((s) => builder.expect(s.name, s.size));
  /** Cached copies that failed their check (and were deleted): fetched again below. */
  const damaged = new Map<string, number>();
  const load = async (s: { sha256: string; size: number }, keep: boolean): Promise<Buffer | null> => {
    try {
      if (!keep) {
        await files.verify(s.sha256);
        return null;
      }
      return fetched.get(s.sha256) ?? options.inMemory?.(s.sha256) ?? (await files.read(s.sha256));
    } catch (err) {
      if (!isSlipwayError(err, 'blob_corrupt')) throw err;
      damaged.set(s.sha256, s.size);
      return null;
    }
  };
  const bodies = await mapConcurrent(sources, DISK_CONCURRENCY, (s, i) => load(s, kept[i] === true));
  if (damaged.size > 0) {
    if (options.fetch === null) {
      throw new SlipwayError('blob_not_found', 'release files in the disk cache are damaged', { details: { damaged: damaged.size } });
    }
    const again = (await options.fetch([...damaged].map(([sha256, size]) => ({ sha256, size })))).bodies;
    for (const [i, s] of sources.entries()) {
      if (kept[i] && damaged.has(s.sha256)) bodies[i] = again.get(s.sha256) ?? (await files.read(s.sha256));
    }
  }
  for (const [i, s] of sources.entries()) {
    builder.add(s.name, { offset: 0, size: s.size, sha256: s.sha256, body: bodies[i] ?? null, path: files.path(s.sha256) });
  }
  return builder.finish(manifestPath);
}

/** The format-1 view of a manifest that {@link SiteBuilder} checks entries against. */
function asTarManifest(manifest: FileReleaseManifest): ReleaseManifest {
  return {
    format: RELEASE_FORMAT_VERSION,
    kind: 'static',
    files: manifest.files.map((f) => ({
      path: f.path, size: f.size, sha256: f.sha256, content_type: f.content_type,
      encodings: RELEASE_ENCODINGS.filter((enc: ReleaseEncoding) => f.variants[enc] !== undefined),
      ...(f.immutable ? { immutable: true as const } : {}),
    })),
  };
}
