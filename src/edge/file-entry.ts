import type { ReleaseFile } from '../core/release-format.js';

/**
 * Every response revalidates: release paths are not content-hashed in general, and a
 * revalidation costs one 304 against an in-memory ETag. Previews use the same policy so a
 * preview behaves exactly like production would.
 */
export const CACHE_CONTROL = 'public, max-age=0, must-revalidate';

/** One representation of a file (raw, br or gzip) with everything a response needs. */
export interface FileVariant {
  readonly body: Buffer;
  /** Strong ETag, quoted; variants of one file differ (`"…"`, `"…-br"`, `"…-gz"`). */
  readonly etag: string;
  /** Flat `[name, value, …]` list for `res.writeHead(200, headers)`, computed once. */
  readonly headers: string[];
  /** Headers of a 304 for this variant: validators and caching, no body fields. */
  readonly notModifiedHeaders: string[];
}

/** A served file of a release, held in memory with its precompressed variants. */
export interface FileEntry {
  /** Site path without a leading slash (`assets/app.js`). */
  readonly path: string;
  readonly contentType: string;
  readonly identity: FileVariant;
  readonly br: FileVariant | null;
  readonly gzip: FileVariant | null;
}

/** The raw bytes and the listed precompressed variants of one manifest file. */
export interface FileBodies {
  identity: Buffer;
  br: Buffer | null;
  gzip: Buffer | null;
}

/** Builds the entry for one manifest file; the bodies must already be verified. */
export function createFileEntry(file: ReleaseFile, bodies: FileBodies): FileEntry {
  const tag = file.sha256.slice(0, 32);
  // Vary only when a choice exists; on single-representation files it just splits caches.
  const varies = bodies.br !== null || bodies.gzip !== null;
  const variant = (body: Buffer, suffix: string, encoding: string | null): FileVariant => {
    const etag = `"${tag}${suffix}"`;
    const common = ['ETag', etag, 'Cache-Control', CACHE_CONTROL];
    if (varies) common.push('Vary', 'Accept-Encoding');
    const headers = [
      'Content-Type', file.content_type,
      'Content-Length', String(body.length),
      ...common,
      'X-Content-Type-Options', 'nosniff',
    ];
    if (encoding !== null) headers.push('Content-Encoding', encoding);
    return { body, etag, headers, notModifiedHeaders: common };
  };
  return {
    path: file.path,
    contentType: file.content_type,
    identity: variant(bodies.identity, '', null),
    br: bodies.br === null ? null : variant(bodies.br, '-br', 'br'),
    gzip: bodies.gzip === null ? null : variant(bodies.gzip, '-gz', 'gzip'),
  };
}
