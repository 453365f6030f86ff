import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { SlipwayError } from '../core/errors.js';
import {
  FILE_RELEASE_FORMAT,
  RELEASE_ENCODINGS,
  encodeFileReleaseManifest,
  type FileReleaseEntry,
  type FileReleaseManifest,
  type FileReleaseVariant,
  type ReleaseEncoding,
} from '../core/release-format.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { sha256Buffer } from '../util/sha256.js';
import { contentTypeFor, isCompressible } from './content-type.js';
import { precompress, type Compressor } from './precompress.js';
import { createIncludeMatcher, leftOutReason } from './release-filter.js';
import type { SkippedPath } from './source-tree.js';

/**
 * Where a format-2 release's blobs go: the blob store, described by just what the packager
 * uses (the build layer does not import `blobs/`).
 */
export interface ReleaseBlobSink {
  /**
   * True when the blob is stored, refreshing its last-written time as a put would (so garbage
   * collection does not take it before the release naming it is recorded); false: put it.
   */
  keep(sha256: string): Promise<boolean>;
  /** Stores `data`, whose sha256 is `sha256`; storing what exists is a no-op. */
  put(data: Buffer, sha256: string): Promise<void>;
  /** Stores a large file from disk by streaming it; returns its sha256 and size. */
  putFile?(path: string): Promise<{ sha256: string; size: number }>;
}

/** Where and how a format-2 release is stored (see {@link packageFileRelease}). */
export interface FileReleaseTarget {
  sink: ReleaseBlobSink;
  /** Manifests whose variants may be reused (the deployment's last release). */
  previous?: readonly FileReleaseManifest[];
}

/** A format-2 static release, already stored: its release blob is the manifest. */
export interface StoredStaticRelease {
  sha256: string;
  size: number;
  manifest: FileReleaseManifest;
}

/** One file of a built site: held in memory, or (too large to hold) a path on disk. */
export interface SiteInput {
  /** POSIX path relative to the site root. */
  path: string;
  data?: Buffer;
  /** Read when `data` is absent. */
  absPath?: string;
  /** Files over {@link MAX_IN_MEMORY_BYTES} are stored by streaming and served raw. */
  size: number;
}

/** Options for {@link packageFileRelease}. */
export interface PackageFileReleaseOptions {
  files: readonly SiteInput[];
  sink: ReleaseBlobSink;
  /** Globs kept although the release rules leave them out (see `createIncludeMatcher`). */
  include?: readonly string[];
  /** How variants are made when no earlier release has them; default {@link precompress}. */
  compressor?: Compressor;
  /**
   * Earlier manifests (the deployment's last release): a file whose raw sha256 they list keeps
   * their variants, when those blobs still exist, instead of being compressed again.
   */
  previous?: readonly FileReleaseManifest[];
  /** Marks a file `immutable` (see `static-packager.ts`); default none. */
  isImmutable?: (path: string) => Promise<boolean>;
  /** Reads a file given by `absPath`; default `fs.readFile`. */
  readFile?: (absPath: string) => Promise<Buffer>;
}

/** A stored format-2 release. */
export interface FileReleasePackage {
  manifest: FileReleaseManifest;
  /** The release blob: the canonical manifest bytes, stored under `sha256`. */
  sha256: string;
  size: number;
  /** Files never served, left out by rule, with the rule. */
  leftOut: SkippedPath[];
  /** Files compressed by this packaging (the others reused earlier variants or are not text). */
  compressed: number;
  /** Blobs written (files and variants the store did not have yet), the manifest not counted. */
  stored: number;
}

/** As in `static-packager.ts`: larger files are stored by streaming and served raw. */
const MAX_IN_MEMORY_BYTES = 8 * 1024 * 1024;

/** Compression runs on the libuv pool; a few calls in flight keep it busy. */
const CONCURRENCY = Math.max(4, availableParallelism() * 2);

/**
 * Packages a static site as a release of format 2 (`core/release-format.ts`): every served
 * file and every precompressed variant (brotli and gzip of text-like types, kept when they save
 * at least 5%) is a blob of its own, put only when the store lacks it (kept fresh when it has it), and the release blob is
 * the canonical manifest. Files never to be served (`leftOutReason`) are left out unless
 * `include` keeps them. Identical sites give the same manifest bytes, so the same
 * `artifact_sha256`. A site with no files is `empty_source`.
 */
export async function packageFileRelease(options: PackageFileReleaseOptions): Promise<FileReleasePackage> {
  const included = createIncludeMatcher(options.include ?? []);
  const served: SiteInput[] = [];
  const leftOut: SkippedPath[] = [];
  for (const file of options.files) {
    const reason = leftOutReason(file.path);
    if (reason === null || included(file.path)) served.push(file);
    else leftOut.push({ path: file.path, reason });
  }
  if (served.length === 0) {
    const more = leftOut.length ? ` (${leftOut.length} left out by rule: ${leftOut.slice(0, 3).map((f) => f.path).join(', ')})` : '';
    throw new SlipwayError('empty_source', `the site has no files to serve${more}`);
  }
  const known = knownVariants(options.previous ?? []);
  const compress = options.compressor ?? ((data: Buffer) => precompress(data));
  const stats = { compressed: 0, stored: 0 };
  const store = async (data: Buffer, sha256: string): Promise<void> => {
    if (await options.sink.keep(sha256)) return;
    await options.sink.put(data, sha256);
    stats.stored++;
  };

  /** The file's variants: an earlier release's when all are stored, else compressed and stored now. */
  const variantsOf = async (data: Buffer, sha256: string, contentType: string): Promise<Partial<Record<ReleaseEncoding, FileReleaseVariant>>> => {
    if (!isCompressible(contentType) || data.length === 0) return {};
    const reused = known.get(sha256);
    if (reused !== undefined && (await allStored(reused, options.sink))) return reused;
    stats.compressed++;
    const made = await compress(data, sha256);
    const variants: Partial<Record<ReleaseEncoding, FileReleaseVariant>> = {};
    await Promise.all(RELEASE_ENCODINGS.map(async (enc) => {
      const bytes = made[enc];
      if (bytes === undefined) return;
      const variant = { sha256: sha256Buffer(bytes), size: bytes.length };
      await store(bytes, variant.sha256);
      variants[enc] = variant;
    }));
    return variants;
  };

  const files = await mapConcurrent(served, CONCURRENCY, async (file): Promise<FileReleaseEntry> => {
    const content_type = contentTypeFor(file.path);
    const immutable = (await options.isImmutable?.(file.path)) ? { immutable: true as const } : {};
    if (file.data === undefined && file.size > MAX_IN_MEMORY_BYTES && options.sink.putFile && file.absPath) {
      const { sha256, size } = await options.sink.putFile(file.absPath);
      return { path: file.path, size, sha256, content_type, variants: {}, ...immutable };
    }
    const data = file.data ?? (await (options.readFile ?? readFile)(file.absPath ?? ''));
    const sha256 = sha256Buffer(data);
    // Each put waits for its fsyncs; running them side by side lets the disk commit them together.
    const [, variants] = await Promise.all([store(data, sha256), variantsOf(data, sha256, content_type)]);
    return { path: file.path, size: data.length, sha256, content_type, variants, ...immutable };
  });
  const manifest: FileReleaseManifest = { format: FILE_RELEASE_FORMAT, kind: 'static', files };
  const bytes = encodeFileReleaseManifest(manifest);
  const sha256 = sha256Buffer(bytes);
  await options.sink.put(bytes, sha256);
  // The manifest as stored: files in canonical order.
  const stored = JSON.parse(bytes.toString('utf8')) as FileReleaseManifest;
  return { manifest: stored, sha256, size: bytes.length, leftOut, compressed: stats.compressed, stored: stats.stored };
}

/** Variants by raw sha256, from earlier manifests. */
function knownVariants(manifests: readonly FileReleaseManifest[]): Map<string, Partial<Record<ReleaseEncoding, FileReleaseVariant>>> {
  const known = new Map<string, Partial<Record<ReleaseEncoding, FileReleaseVariant>>>();
  for (const m of manifests) {
    for (const f of m.files) {
      if (!known.has(f.sha256) && isCompressible(f.content_type)) known.set(f.sha256, f.variants);
    }
  }
  return known;
}

async function allStored(variants: Partial<Record<ReleaseEncoding, FileReleaseVariant>>, sink: ReleaseBlobSink): Promise<boolean> {
  const kept = await Promise.all(RELEASE_ENCODINGS.map((enc) => {
    const v = variants[enc];
    return v === undefined ? true : sink.keep(v.sha256);
  }));
  return kept.every(Boolean);
}

/**
 * Parses a format-2 release blob (`isFileReleaseManifest` said it is one), checking the shape
 * the server relies on; `invalid_archive` otherwise.
 */
export function parseFileReleaseManifest(bytes: Buffer): FileReleaseManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new SlipwayError('invalid_archive', 'the release manifest is not JSON', { cause });
  }
  const m = raw as Partial<FileReleaseManifest> | null;
  const ok = m !== null && typeof m === 'object' && m.format === FILE_RELEASE_FORMAT && m.kind === 'static' && Array.isArray(m.files) &&
    m.files.every((f) => typeof f?.path === 'string' && typeof f.sha256 === 'string' && typeof f.size === 'number' && typeof f.variants === 'object' && f.variants !== null);
  if (!ok) throw new SlipwayError('invalid_archive', 'the release blob is not a format-2 static release manifest');
  return m as FileReleaseManifest;
}
