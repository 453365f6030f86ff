import { stat } from 'node:fs/promises';
import type { ReadEntry } from 'tar';
import { SlipwayError } from '../../core/errors.js';
import type { UploadLimits } from '../../core/limits.js';
import { emptyDir, prepareEmptyDir } from './dest-dir.js';
import { normalizeEntryPath, unsafeEntry } from './entry-path.js';
import { readTar } from './tar-reader.js';
import { TreeChecker, type TreeEntry, type TreeEntryKind } from './tree-checker.js';
import { writeEntry } from './write-entry.js';

/** Options for {@link extractUpload}. */
export interface ExtractUploadOptions {
  archivePath: string;
  format: 'tar' | 'tgz';
  /** Created when missing; must be empty. Left empty when the upload is refused. */
  destDir: string;
  limits: UploadLimits;
}

/** What an extraction wrote. */
export interface ExtractResult {
  /** Files and symlinks written (directories not counted). */
  fileCount: number;
  /** Bytes of file content written. */
  totalBytes: number;
}

const KIND_BY_TYPE: Partial<Record<string, TreeEntryKind>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
};

const REFUSED_TYPES: Partial<Record<string, string>> = {
  Link: 'hardlink',
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
};

/**
 * Unpacks an uploaded tar or tar.gz into `destDir`, all or nothing. A first pass reads the whole
 * archive and refuses it before anything is written: `unsafe_archive` for absolute paths, `..`,
 * control characters or backslashes in names, hardlinks, devices, FIFOs, symlinks leading out
 * of the root, entries under a symlink, and duplicates; `invalid_archive` for anything that
 * is not a complete, well-formed archive; `too_many_files` and `archive_too_large` for the
 * limits; `empty_source` when there is no file. The second pass writes exactly what the first
 * approved, with node-tar's parser only (no `tar.x`, so nothing is rewritten or stripped):
 * owners and times are dropped, files get 0644 or 0755 (the executable bit is kept),
 * directories 0755.
 */
export async function extractUpload(options: ExtractUploadOptions): Promise<ExtractResult> {
  const { archivePath, destDir, limits } = options;
  const gzip = options.format === 'tgz';
  const size = (await stat(archivePath)).size;
  if (size > limits.maxUploadBytes) {
    throw new SlipwayError('payload_too_large', `the upload is larger than ${limits.maxUploadBytes} bytes`, {
      details: { limit: limits.maxUploadBytes },
    });
  }

  const scan = new TreeChecker(limits);
  await readTar({
    archivePath,
    gzip,
    onEntry: (entry) => {
      const checked = classify(entry);
      if (checked) scan.add(checked);
      entry.resume();
    },
  });
  scan.finish();
  if (scan.fileCount === 0) throw new SlipwayError('empty_source', 'the archive contains no files');

  await prepareEmptyDir(destDir);
  try {
    // The same checks again while writing: the file is read twice, and what is written must be
    // exactly what was approved.
    const write = new TreeChecker(limits);
    await readTar({
      archivePath,
      gzip,
      onEntry: async (entry) => {
        const checked = classify(entry);
        if (checked) write.add(checked);
        await writeEntry(destDir, entry, checked);
      },
    });
    write.finish();
    if (write.fileCount !== scan.fileCount || write.totalBytes !== scan.totalBytes) {
      throw new SlipwayError('invalid_archive', 'the archive changed while it was being read');
    }
    return { fileCount: write.fileCount, totalBytes: write.totalBytes };
  } catch (err) {
    await emptyDir(destDir);
    throw err;
  }
}

/** Maps a tar entry to a checked tree entry, or null for the root directory itself (`./`). */
function classify(entry: ReadEntry): TreeEntry | null {
  const refused = REFUSED_TYPES[entry.type];
  if (refused !== undefined) throw unsafeEntry(entry.path, `${refused} entries are not allowed`);
  const kind = KIND_BY_TYPE[entry.type];
  if (kind === undefined) throw unsafeEntry(entry.path, `unsupported entry type ${entry.type}`);
  const path = normalizeEntryPath(entry.path);
  if (path === '') {
    if (kind === 'dir') return null;
    throw unsafeEntry(entry.path, 'empty name');
  }
  return { raw: entry.path, path, kind, size: entry.size, linkpath: entry.linkpath };
}
