import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { SlipwayError } from '../../core/errors.js';
import type { UploadLimits } from '../../core/limits.js';
import { normalizeEntryPath, unsafeEntry } from './entry-path.js';
import { SpillingTreeWriter, type MemoryUploadEntry } from './spilling-writer.js';
import { TRAILING_ALLOWANCE_BYTES, type TarReadEntry } from './tar-reader.js';
import { TREE_KIND_BY_TYPE, unpackTree, type Placement } from './unpack-tree.js';

/** Options for {@link extractUpload}. */
export interface ExtractUploadOptions {
  /** The archive as a file (checked against `limits.maxUploadBytes`); or give `input`. */
  archivePath?: string;
  /** The archive as a stream, read once; the caller bounds its size (see `api/upload.ts`). */
  input?: Readable;
  /** `sniff` decides tar or tar.gz by the gzip magic bytes; the others insist on their format. */
  format: 'tar' | 'tgz' | 'sniff';
  /** Where the format came from, named when the bytes disagree (e.g. `Content-Type application/gzip`). */
  declaredBy?: string;
  /** Created when missing; must be empty. Left empty when the upload is refused. */
  destDir: string;
  limits: UploadLimits;
  /**
   * Keep the entries in memory instead of writing them while their files total at most this
   * many bytes (see `SpillingTreeWriter`); past it they go to `destDir` as usual.
   */
  memoryBudgetBytes?: number;
}

/** What an extraction wrote. */
export interface ExtractResult {
  /** Files and symlinks written (directories not counted). */
  fileCount: number;
  /** Bytes of file content written. */
  totalBytes: number;
  /** With `memoryBudgetBytes`: the approved entries when they stayed in memory (`destDir` is then empty). */
  memory?: MemoryUploadEntry[];
}

const REFUSED_TYPES: Partial<Record<string, string>> = {
  Link: 'hardlink',
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
};

/**
 * Tar overhead allowed per entry on top of the content: a header, a long name in a pax header,
 * and the padding of both. Files and directories are each bounded by `maxFiles`.
 */
const TAR_BYTES_PER_ENTRY = 8 * 1024;

/**
 * The most plain-tar bytes (after gunzip, end padding included) an upload within `limits` can
 * need. Reading stops there, so a small gzip body cannot make the server inflate gigabytes of
 * padding, metadata or trailing data that no entry accounts for.
 */
export function maxTarBytes(limits: UploadLimits): number {
  const cap = limits.maxUnpackedBytes + 2 * limits.maxFiles * TAR_BYTES_PER_ENTRY + TRAILING_ALLOWANCE_BYTES + 10240;
  return Math.min(cap, Number.MAX_SAFE_INTEGER);
}

/**
 * Unpacks an uploaded tar or tar.gz into `destDir` in one pass, all or nothing: every entry is
 * checked before it is written (the writes run several at a time, see `TreeWriter`), and on any
 * refusal everything written so far is removed, once every write has ended, so `destDir` holds
 * either the whole approved tree or nothing. Refused: `unsafe_archive` for
 * absolute paths, `..`, control characters, backslashes or non-UTF-8 bytes in names, hardlinks,
 * devices, FIFOs, symlinks leading out of the root, entries under a symlink, and duplicates;
 * `invalid_archive` for anything that is not a complete, well-formed archive (trailing data
 * included); `too_many_files` and `archive_too_large` for the limits; `empty_source` when there
 * is no file. Entries are read by `readTar` and written by us (nothing is rewritten or stripped):
 * owners and times are dropped, files get 0644 or 0755 (the executable bit is kept),
 * directories 0755.
 */
export async function extractUpload(options: ExtractUploadOptions): Promise<ExtractResult> {
  const { archivePath, destDir, limits } = options;
  if (options.input === undefined) {
    const size = (await stat(archivePath ?? '')).size;
    if (size > limits.maxUploadBytes) {
      throw new SlipwayError('payload_too_large', `the upload is larger than ${limits.maxUploadBytes} bytes`, {
        details: { limit: limits.maxUploadBytes },
      });
    }
  }
  let spilling: SpillingTreeWriter | undefined;
  const budget = options.memoryBudgetBytes;
  const checker = await unpackTree({
    read: {
      archivePath,
      input: options.input,
      gzip: options.format === 'sniff' ? 'sniff' : options.format === 'tgz',
      declaredBy: options.declaredBy,
      maxTarBytes: maxTarBytes(limits),
    },
    destDir,
    limits,
    place: classify,
    verify: (checked) => {
      if (checked.fileCount === 0) throw new SlipwayError('empty_source', 'the archive contains no files');
    },
    ...(budget === undefined ? {} : { writer: async (dir: string) => (spilling = new SpillingTreeWriter(dir, budget)) }),
  });
  const memory = spilling?.entries ?? undefined;
  return { fileCount: checker.fileCount, totalBytes: checker.totalBytes, ...(memory ? { memory } : {}) };
}

/** Maps a tar entry to a checked tree entry, or `root` for the root directory itself (`./`). */
function classify(entry: TarReadEntry): Placement {
  const refused = REFUSED_TYPES[entry.type];
  if (refused !== undefined) throw unsafeEntry(entry.path, `${refused} entries are not allowed`);
  const kind = TREE_KIND_BY_TYPE[entry.type];
  if (kind === undefined) throw unsafeEntry(entry.path, `unsupported entry type ${entry.type}`);
  const path = normalizeEntryPath(entry.path);
  if (path === '') {
    if (kind === 'dir') return 'root';
    throw unsafeEntry(entry.path, 'empty name');
  }
  return { raw: entry.path, path, kind, size: entry.size, linkpath: entry.linkpath };
}
