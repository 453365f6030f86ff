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

/**
 * Static release format 2: the release blob (`artifact_sha256`) is this manifest as canonical
 * JSON (see {@link encodeFileReleaseManifest}), and every served file and precompressed variant
 * is a blob of its own, named by its sha256. A republish stores, and an edge fetches, only the
 * files it does not have yet; identical files are stored once whichever release names them.
 * Readers tell the formats apart by the first byte: `{` is format 2, a tar (format 1) starts
 * with the name of its first entry, `release.json`.
 */
export const FILE_RELEASE_FORMAT = 2 as const;

/** A precompressed variant of one file, itself a blob. */
export interface FileReleaseVariant {
  sha256: string;
  size: number;
}

/** One served file of a format-2 release; its bytes are the blob `sha256`. */
export interface FileReleaseEntry {
  /** POSIX path relative to the site root, no leading slash (`assets/app.js`). */
  path: string;
  size: number;
  /** sha256 of the raw bytes: the blob's name and the strong ETag. */
  sha256: string;
  content_type: string;
  /** Precompressed variants, each a blob; absent when it would not save at least 5%. */
  variants: Partial<Record<ReleaseEncoding, FileReleaseVariant>>;
  /** As {@link ReleaseFile.immutable}. */
  immutable?: true;
}

/** The release blob of a format-2 static release. */
export interface FileReleaseManifest {
  format: typeof FILE_RELEASE_FORMAT;
  kind: 'static';
  /** Every served file, sorted by `path` (byte order), paths unique. */
  files: FileReleaseEntry[];
}

/**
 * The canonical bytes of a manifest: keys in a fixed order, files sorted by path, no
 * whitespace, so identical output trees always give the same `artifact_sha256`.
 */
export function encodeFileReleaseManifest(manifest: FileReleaseManifest): Buffer {
  const files = [...manifest.files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const canonical = {
    format: FILE_RELEASE_FORMAT,
    kind: 'static' as const,
    files: files.map((f) => {
      const variants: Partial<Record<ReleaseEncoding, FileReleaseVariant>> = {};
      for (const enc of RELEASE_ENCODINGS) {
        const v = f.variants[enc];
        if (v) variants[enc] = { sha256: v.sha256, size: v.size };
      }
      return {
        path: f.path, size: f.size, sha256: f.sha256, content_type: f.content_type, variants,
        ...(f.immutable ? { immutable: true as const } : {}),
      };
    }),
  };
  return Buffer.from(JSON.stringify(canonical), 'utf8');
}

/** True when a release blob's first bytes are a format-2 manifest rather than a tar. */
export function isFileReleaseManifest(head: Uint8Array): boolean {
  return head.length > 0 && head[0] === 0x7b; // '{'
}

/** Every blob a format-2 release references besides its manifest: files and variants. */
export function fileReleaseBlobs(manifest: FileReleaseManifest): Set<string> {
  const shas = new Set<string>();
  for (const f of manifest.files) {
    shas.add(f.sha256);
    for (const enc of RELEASE_ENCODINGS) {
      const v = f.variants[enc];
      if (v) shas.add(v.sha256);
    }
  }
  return shas;
}
