import { SlipwayError, isSlipwayError } from '../core/errors.js';
import type { UploadLimits } from '../core/limits.js';
import type { Digest } from '../util/sha256.js';
import { normalizeEntryPath } from './archive/entry-path.js';
import { writeDeterministicTar } from './archive/deterministic-tar.js';
import { extractUpload, type ExtractResult } from './archive/extract-upload.js';
import { extractSnapshotInMemory, fitsInMemory } from './snapshot-extract.js';
import { createSnapshotFilter } from './snapshot-filter.js';
import { collectTree, type SkippedPath } from './source-tree.js';

/** Options for {@link createSnapshot}. */
export interface CreateSnapshotOptions {
  sourceDir: string;
  /** Where the snapshot tar is written (replaced if present). */
  outPath: string;
  /** An explicit `output_path` to keep even where the exclusions would drop it. */
  keepPath?: string;
}

/** A written snapshot. */
export interface SnapshotResult extends Digest {
  fileCount: number;
  /** Entries left out for being unrepresentable (not the deliberate exclusions). */
  skipped: SkippedPath[];
}

/** No limits beyond the ones the upload already passed: a snapshot is our own output. */
const SNAPSHOT_LIMITS: UploadLimits = {
  maxUploadBytes: Number.MAX_SAFE_INTEGER,
  maxUnpackedBytes: Number.MAX_SAFE_INTEGER,
  maxFiles: Number.MAX_SAFE_INTEGER,
};

/**
 * Freezes a source tree as a deterministic tar (docs/architecture.md §2 step 1): the snapshot
 * exclusions applied, files sorted by path, symlinks to files inside the tree stored as the
 * file, executable bits kept (0755), nothing else. The same tree always gives the same
 * sha256, which is the version's `source_sha256`. A tree with no files is `empty_source`.
 */
export async function createSnapshot(options: CreateSnapshotOptions): Promise<SnapshotResult> {
  const keepPath = options.keepPath === undefined ? undefined : normalizeOutputPath(options.keepPath);
  const { files, skipped } = await collectTree({ root: options.sourceDir, exclude: createSnapshotFilter(keepPath) });
  if (files.length === 0) throw new SlipwayError('empty_source', 'the source has no files');
  const digest = await writeDeterministicTar(
    files.map((f) => ({ path: f.path, file: f.absPath, mode: f.executable ? 0o755 : 0o644 })),
    options.outPath,
  );
  return { ...digest, fileCount: files.length, skipped };
}

/**
 * Unpacks a snapshot into an empty `destDir`. Snapshots are written by Slipway, but they come
 * back from storage: the same checks as an upload apply, without its size limits.
 */
export async function extractSnapshot(snapshotPath: string, destDir: string): Promise<ExtractResult> {
  if (await fitsInMemory(snapshotPath)) return extractSnapshotInMemory(snapshotPath, destDir);
  return extractUpload({ archivePath: snapshotPath, format: 'tar', destDir, limits: SNAPSHOT_LIMITS });
}

/**
 * Normalizes a user's `output_path` (`./dist/` → `dist`, `.` → `''`) or refuses it with
 * `invalid_request` when it could point outside the source.
 */
export function normalizeOutputPath(outputPath: string): string {
  try {
    return normalizeEntryPath(outputPath);
  } catch (err) {
    if (!isSlipwayError(err, 'unsafe_archive')) throw err;
    throw new SlipwayError('invalid_request', `output_path must be a relative path inside the source: ${err.details.reason}`, {
      details: { field: 'output_path', reason: err.details.reason },
    });
  }
}
