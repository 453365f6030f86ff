import { SlipwayError } from '../core/errors.js';
import type { ReleaseManifest, ReleaseFile } from '../core/release-format.js';
import { createFileEntry, type FileEntry, type VariantSource } from './file-entry.js';
import type { Site } from './site.js';

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release tar: ${message}`, { details });
}

/** Shared by every release tar's site: thousands of them need no set each. */
const NO_FILE_BLOBS: ReadonlySet<string> = new Set();

/** Options for {@link SiteBuilder}. */
export interface SiteBuilderOptions {
  /** Variants up to this size are kept in memory; larger ones are served from the tar. */
  maxMemoryFileBytes: number;
  /**
   * Once the kept bytes would pass this, nothing more is kept and the site comes out
   * evicted (every body served from disk), so loading a release never holds more than this.
   */
  maxResidentBytes: number;
}

interface Pending {
  file: ReleaseFile;
  identity?: VariantSource;
  br?: VariantSource;
  gzip?: VariantSource;
}

/**
 * Checks the entries that follow a release's manifest as a reader walks the tar, and builds
 * the {@link Site}: every listed file and variant present exactly once, sizes matching before
 * any byte is read, raw bytes matching their sha256, no stray entries. The reader asks
 * {@link expect} before an entry's bytes (to know whether to keep them) and hands them, or
 * just their hash, to {@link add}.
 */
export class SiteBuilder {
  readonly #options: SiteBuilderOptions;
  readonly #byEntry = new Map<string, { pending: Pending; kind: 'identity' | 'br' | 'gzip' }>();
  readonly #files: Pending[] = [];
  #keptBytes = 0;
  #memoryBytes = 0;
  #overflow = false;

  constructor(manifest: ReleaseManifest, options: SiteBuilderOptions) {
    this.#options = options;
    for (const file of manifest.files) {
      const pending: Pending = { file };
      this.#files.push(pending);
      this.#byEntry.set(`files/${file.path}`, { pending, kind: 'identity' });
      for (const encoding of file.encodings) this.#byEntry.set(`${encoding}/${file.path}`, { pending, kind: encoding });
    }
  }

  /** Checks entry `path` of `size` bytes before it is read; true when its bytes are to be kept. */
  expect(path: string, size: number): boolean {
    const slot = this.#byEntry.get(path);
    if (slot === undefined || slot.pending[slot.kind] !== undefined) throw invalid('entry not listed in the manifest', { entry: path });
    if (slot.kind === 'identity' && size !== slot.pending.file.size) {
      throw invalid('size mismatch', { entry: slot.pending.file.path, expected: slot.pending.file.size, actual: size });
    }
    if (size > this.#options.maxMemoryFileBytes) return false;
    this.#memoryBytes += size;
    if (this.#overflow || this.#keptBytes + size > this.#options.maxResidentBytes) {
      this.#overflow = true;
      return false;
    }
    this.#keptBytes += size;
    return true;
  }

  /** Records the entry {@link expect} accepted: where it is, its hash, and its bytes if kept. */
  add(path: string, source: Omit<VariantSource, 'small'>): void {
    const slot = this.#byEntry.get(path);
    if (slot === undefined) throw invalid('entry not listed in the manifest', { entry: path });
    if (slot.kind === 'identity' && source.sha256 !== slot.pending.file.sha256) {
      throw invalid('sha256 mismatch', { entry: slot.pending.file.path });
    }
    slot.pending[slot.kind] = { ...source, small: source.size <= this.#options.maxMemoryFileBytes };
  }

  /**
   * The site, once every listed entry was added; `tarPath` is the release file on disk (the tar
   * bodies not in memory are read from, or a format-2 manifest whose sources name their files).
   */
  finish(tarPath: string | null): Site {
    const files = new Map<string, FileEntry>();
    const fileBlobs = new Set<string>();
    for (const { file, identity, br, gzip } of this.#files) {
      for (const source of [identity, br, gzip]) if (source?.path !== undefined) fileBlobs.add(source.sha256);
      if (identity === undefined) throw invalid('listed entry missing', { entry: `files/${file.path}` });
      for (const [encoding, source] of [['br', br], ['gzip', gzip]] as const) {
        if (file.encodings.includes(encoding) && source === undefined) throw invalid('listed entry missing', { entry: `${encoding}/${file.path}` });
      }
      files.set(file.path, createFileEntry(file, { identity, br: br ?? null, gzip: gzip ?? null }, tarPath));
    }
    const site: Site = {
      paths: buildPathIndex(files),
      files,
      index: files.get('index.html') ?? null,
      notFound: files.get('404.html') ?? null,
      tarPath,
      fileBlobs: fileBlobs.size === 0 ? NO_FILE_BLOBS : fileBlobs,
      memoryBytes: this.#memoryBytes,
      resident: true,
      lastUsed: 0,
      onUse: () => {},
    };
    if (this.#overflow) dropBodies(site);
    return site;
  }
}

/** Lets go of a site's in-memory bodies: from now on every request streams from its tar. */
export function dropBodies(site: Site): void {
  site.resident = false;
  for (const entry of site.files.values()) {
    entry.identity.body = null;
    if (entry.br !== null) entry.br.body = null;
    if (entry.gzip !== null) entry.gzip.body = null;
  }
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
