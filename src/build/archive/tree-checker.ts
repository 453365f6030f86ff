import { SlipwayError } from '../../core/errors.js';
import type { UploadLimits } from '../../core/limits.js';
import { checkLinkTarget, unsafeEntry } from './entry-path.js';

/** The kinds of entry an upload may contain. */
export type TreeEntryKind = 'file' | 'dir' | 'symlink';

/** One entry as the checker sees it. */
export interface TreeEntry {
  /** The name as it appears in the upload, quoted in errors. */
  raw: string;
  /** The normalized path (see `normalizeEntryPath`), never `''`. */
  path: string;
  kind: TreeEntryKind;
  /** Bytes of content (files only). */
  size: number;
  /** Symlink target, as stored. */
  linkpath?: string;
}

/** Linux gives up after 40 links in one lookup; an archive needing more is refused. */
const MAX_LINK_HOPS = 40;

/**
 * Builds the picture of the tree an upload would create, entry by entry, and refuses anything
 * that would not land exactly where it says: a name used twice, a file under a file, any entry
 * under a symlink (it would be written through the link), a link whose target leaves the
 * root, and the limits on count and size. Nothing is written while checking.
 */
export class TreeChecker {
  readonly #limits: UploadLimits;
  readonly #kinds = new Map<string, TreeEntryKind>();
  readonly #links = new Map<string, string>();
  #hopsLeft = 0;
  fileCount = 0;
  dirCount = 0;
  totalBytes = 0;

  constructor(limits: UploadLimits) {
    this.#limits = limits;
  }

  /** Records an entry, or throws `unsafe_archive`, `too_many_files` or `archive_too_large`. */
  add(entry: TreeEntry): void {
    const segments = entry.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      const kind = this.#kinds.get(parent);
      if (kind === 'file') throw unsafeEntry(entry.raw, `parent ${parent} is a file`);
      if (kind === 'symlink') throw unsafeEntry(entry.raw, `parent ${parent} is a symlink`);
      if (kind === undefined) this.#addDir(parent);
    }
    const existing = this.#kinds.get(entry.path);
    if (entry.kind === 'dir') {
      if (existing !== undefined && existing !== 'dir') throw unsafeEntry(entry.raw, `${entry.path} is also a ${existing}`);
      if (existing === undefined) this.#addDir(entry.path);
      return;
    }
    if (existing !== undefined) throw unsafeEntry(entry.raw, `duplicate entry (already a ${existing})`);
    this.#kinds.set(entry.path, entry.kind);
    if (entry.kind === 'symlink') {
      const target = entry.linkpath ?? '';
      checkLinkTarget(entry.raw, target);
      this.#links.set(entry.path, target);
    }
    this.fileCount++;
    if (this.fileCount > this.#limits.maxFiles) throw tooManyFiles(this.#limits.maxFiles);
    this.totalBytes += entry.kind === 'file' ? entry.size : 0;
    if (this.totalBytes > this.#limits.maxUnpackedBytes) {
      throw new SlipwayError('archive_too_large', `the unpacked source is larger than ${this.#limits.maxUnpackedBytes} bytes`, {
        details: { limit: this.#limits.maxUnpackedBytes },
      });
    }
  }

  /**
   * Runs the checks that need the whole tree: every symlink, followed through the other links
   * in the archive the way the kernel would, must stay inside the root. A link that looks safe
   * alone can escape through another (`a/b/d -> ..` makes `a/b/d/../..` climb one level more
   * than it reads).
   */
  finish(): void {
    for (const [path, target] of this.#links) {
      this.#hopsLeft = MAX_LINK_HOPS;
      this.#resolve(path, path.split('/').slice(0, -1), target);
    }
  }

  #resolve(entry: string, start: string[], target: string): string[] {
    let current = [...start];
    for (const segment of target.split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment === '..') {
        if (current.length === 0) throw unsafeEntry(entry, 'symlink target outside the archive');
        current.pop();
        continue;
      }
      current.push(segment);
      const next = this.#links.get(current.join('/'));
      if (next !== undefined) {
        if (--this.#hopsLeft < 0) throw unsafeEntry(entry, 'too many levels of symlinks');
        current = this.#resolve(entry, current.slice(0, -1), next);
      }
    }
    return current;
  }

  #addDir(path: string): void {
    this.#kinds.set(path, 'dir');
    this.dirCount++;
    // Directories cost nothing to declare but inodes to create: bound them like files.
    if (this.dirCount > this.#limits.maxFiles) throw tooManyFiles(this.#limits.maxFiles);
  }
}

function tooManyFiles(limit: number): SlipwayError {
  return new SlipwayError('too_many_files', `the source has more than ${limit} files`, { details: { limit } });
}
