import { createHash } from 'node:crypto';
import { SlipwayError } from '../core/errors.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import { createFileEntry, type FileEntry } from './file-entry.js';
import { parseReleaseManifest } from './release-manifest.js';
import { readTarEntries } from '../util/tar-entries.js';

export type { FileEntry, FileVariant } from './file-entry.js';

/** A static release loaded into memory, ready to serve without touching the disk. */
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
  /** Bytes held in memory for this site (the tar's size; file bodies are views into it). */
  readonly byteSize: number;
}

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release tar: ${message}`, { details });
}

/**
 * Parses a release tar (src/core/release-format.ts) into a {@link Site}. Everything is checked
 * before anything is returned (manifest first, each listed file and variant present, sizes and
 * sha256 matching, no stray entries), so a corrupt release is refused as a whole with
 * `invalid_archive` and never half served. File bodies are zero-copy views into `releaseTar`.
 */
export function loadSite(releaseTar: Buffer): Site {
  const entries = readTarEntries(releaseTar);
  const first = entries[0];
  if (first === undefined || first.path !== RELEASE_MANIFEST_ENTRY) {
    throw invalid(`${RELEASE_MANIFEST_ENTRY} is not the first entry`, { entry: first?.path });
  }
  const manifest = parseReleaseManifest(first.data);
  const bodies = new Map(entries.slice(1).map((e) => [e.path, e.data]));
  const take = (name: string): Buffer => {
    const data = bodies.get(name);
    if (data === undefined) throw invalid('listed entry missing', { entry: name });
    bodies.delete(name);
    return data;
  };

  const files = new Map<string, FileEntry>();
  for (const file of manifest.files) {
    const identity = take(`files/${file.path}`);
    if (identity.length !== file.size) {
      throw invalid('size mismatch', { entry: file.path, expected: file.size, actual: identity.length });
    }
    if (createHash('sha256').update(identity).digest('hex') !== file.sha256) {
      throw invalid('sha256 mismatch', { entry: file.path });
    }
    const br = file.encodings.includes('br') ? take(`br/${file.path}`) : null;
    const gzip = file.encodings.includes('gzip') ? take(`gzip/${file.path}`) : null;
    files.set(file.path, createFileEntry(file, { identity, br, gzip }));
  }
  const stray = bodies.keys().next();
  if (!stray.done) throw invalid('entry not listed in the manifest', { entry: stray.value });

  return {
    paths: buildPathIndex(files),
    files,
    index: files.get('index.html') ?? null,
    notFound: files.get('404.html') ?? null,
    byteSize: releaseTar.length,
  };
}

/** Request paths in order of precedence; a later rule never overrides an earlier one. */
function buildPathIndex(files: ReadonlyMap<string, FileEntry>): Map<string, FileEntry> {
  const paths = new Map<string, FileEntry>();
  const add = (key: string, entry: FileEntry) => {
    if (!paths.has(key)) paths.set(key, entry);
  };
  for (const [path, entry] of files) add(`/${path}`, entry);
  for (const [path, entry] of files) {
    if (path !== 'index.html' && !path.endsWith('/index.html')) continue;
    const dir = path.slice(0, -'index.html'.length);
    add(`/${dir}`, entry);
    if (dir !== '') add(`/${dir.slice(0, -1)}`, entry);
  }
  for (const [path, entry] of files) {
    if (path.endsWith('.html')) add(`/${path.slice(0, -'.html'.length)}`, entry);
  }
  return paths;
}
