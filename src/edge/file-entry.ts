import type { ReleaseFile } from '../core/release-format.js';

/**
 * Every response revalidates unless its file is marked immutable: release paths are not
 * content-hashed in general, and a revalidation costs one 304 against an in-memory ETag. Previews use the same policy so a
 * preview behaves exactly like production would.
 */
export const CACHE_CONTROL = 'public, max-age=0, must-revalidate';

/**
 * For files the release marks `immutable` (content-hashed build output, see
 * `build/hashed-assets.ts`): new content always gets a new name, so a year without asking.
 */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/** One representation of a file (raw, br or gzip) with everything a response needs. */
export interface FileVariant {
  /**
   * The bytes while they are held in memory, else null: the variant is then streamed from the
   * release tar at {@link offset}. Small variants are in memory while their site is resident
   * (the release cache drops and restores them as a whole); large ones never are.
   */
  body: Buffer | null;
  /** True when the variant is small enough to be held in memory while its site is resident. */
  readonly small: boolean;
  /** Where the bytes start in the release tar, and how many there are. */
  readonly offset: number;
  readonly size: number;
  /** sha256 (hex) of the bytes, to check them again when they are read back from disk. */
  readonly sha256: string;
  /**
   * The file holding the bytes: the release tar (format 1) or the variant's own blob in the
   * per-file cache (format 2, at offset 0); null when they are always in memory (from a Buffer).
   */
  readonly tarPath: string | null;
  /** Strong ETag, quoted; variants of one file differ (`"…"`, `"…-br"`, `"…-gz"`). */
  readonly etag: string;
  /** Flat `[name, value, …]` list for `res.writeHead(200, headers)`, computed once. */
  readonly headers: string[];
  /** Headers of a 304 for this variant: validators and caching, no body fields. */
  readonly notModifiedHeaders: string[];
}

/** A served file of a release, with its precompressed variants. */
export interface FileEntry {
  /** Site path without a leading slash (`assets/app.js`). */
  readonly path: string;
  readonly contentType: string;
  readonly identity: FileVariant;
  readonly br: FileVariant | null;
  readonly gzip: FileVariant | null;
}

/** Where one variant's bytes are, and the bytes themselves when they are kept in memory. */
export interface VariantSource {
  offset: number;
  size: number;
  sha256: string;
  /** Small enough to be held in memory while its site is resident. */
  small: boolean;
  /** The bytes when they are in memory now, else null. */
  body: Buffer | null;
  /** The file holding the bytes when it is not the release tar: a blob of the per-file cache. */
  path?: string;
}

/** The sources of a manifest file's raw bytes and of its listed precompressed variants. */
export interface FileSources {
  identity: VariantSource;
  br: VariantSource | null;
  gzip: VariantSource | null;
}

/**
 * Builds the entry for one manifest file; the sources must already be verified. `tarPath` is
 * the release tar bodies not in memory are read from (null: they all are, for good).
 */
export function createFileEntry(file: ReleaseFile, sources: FileSources, tarPath: string | null): FileEntry {
  const tag = file.sha256.slice(0, 32);
  // Vary only when a choice exists; on single-representation files it just splits caches.
  const varies = sources.br !== null || sources.gzip !== null;
  const variant = (source: VariantSource, suffix: string, encoding: string | null): FileVariant => {
    const etag = `"${tag}${suffix}"`;
    const common = ['ETag', etag, 'Cache-Control', file.immutable === true ? IMMUTABLE_CACHE_CONTROL : CACHE_CONTROL];
    if (varies) common.push('Vary', 'Accept-Encoding');
    const headers = [
      'Content-Type', file.content_type,
      'Content-Length', String(source.size),
      ...common,
      'X-Content-Type-Options', 'nosniff',
    ];
    if (encoding !== null) headers.push('Content-Encoding', encoding);
    const { body, small, offset, size, sha256 } = source;
    return { body, small, offset, size, sha256, tarPath: source.path ?? tarPath, etag, headers, notModifiedHeaders: common };
  };
  return {
    path: file.path,
    contentType: file.content_type,
    identity: variant(sources.identity, '', null),
    br: sources.br === null ? null : variant(sources.br, '-br', 'br'),
    gzip: sources.gzip === null ? null : variant(sources.gzip, '-gz', 'gzip'),
  };
}
