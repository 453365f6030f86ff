/**
 * The static release artifact, shared by the packager (writer) and the edge (reader).
 *
 * A release is one uncompressed, deterministic tar (sorted entries, mtime 0, uid/gid 0,
 * mode 0644, no directory entries) stored in the blob store under its sha256, which is the
 * version's `artifact_sha256`. Entries:
 *
 * - `release.json`: the {@link ReleaseManifest}, always the first entry.
 * - `files/<path>`: the raw bytes of each served file.
 * - `br/<path>` and `gzip/<path>`: precompressed variants, present only when listed in the
 *   file's `encodings` (they are skipped when they would not save at least 5%).
 *
 * Identical output trees always give byte-identical tars, so identical inputs give identical
 * `artifact_sha256`.
 */
export const RELEASE_FORMAT_VERSION = 1 as const;

/** The name of the manifest entry inside a release tar. */
export const RELEASE_MANIFEST_ENTRY = 'release.json';

/** Content encodings the packager may precompute, in the edge's order of preference. */
export const RELEASE_ENCODINGS = ['br', 'gzip'] as const;
export type ReleaseEncoding = (typeof RELEASE_ENCODINGS)[number];

/** One served file of a static release. */
export interface ReleaseFile {
  /** POSIX path relative to the site root, no leading slash (`assets/app.js`). */
  path: string;
  /** Size in bytes of the raw file. */
  size: number;
  /** sha256 of the raw bytes, lowercase hex; the edge derives the strong ETag from it. */
  sha256: string;
  /** The `Content-Type` header value to serve (`text/html; charset=utf-8`). */
  content_type: string;
  /** Which precompressed variants exist under `br/<path>` and `gzip/<path>`. */
  encodings: ReleaseEncoding[];
  /**
   * Present (and true) when the file is content-hashed build output that never changes under
   * its name, so the edge lets browsers keep it for a year. Releases packaged before this field
   * existed lack it, and their files revalidate as before.
   */
  immutable?: true;
}

/** The manifest at the head of every release tar. */
export interface ReleaseManifest {
  format: typeof RELEASE_FORMAT_VERSION;
  kind: 'static';
  /** Every served file, sorted by `path` (byte order). */
  files: ReleaseFile[];
}
