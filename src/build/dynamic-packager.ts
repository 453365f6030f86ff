import type { Stats } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import { collectAppTree } from './app-tree.js';
import { statWithMode, writeReleaseTgz } from './archive/release-tgz.js';
import type { SkippedPath } from './source-tree.js';

/** The directory of a dynamic release tar that holds the app tree. */
export const DYNAMIC_APP_DIR = 'app';

/** Unpacked app size allowed by default: 1 GiB. */
export const DEFAULT_MAX_APP_BYTES = 1024 * 1024 * 1024;

/** Options for {@link packageDynamicRelease}. */
export interface PackageDynamicOptions {
  /** The built app. It is moved (renamed) into `stageDir`, so it is gone afterwards. */
  appDir: string;
  /** An empty or missing directory beside `appDir` (same filesystem) to lay the release out in. */
  stageDir: string;
  manifest: DynamicReleaseManifest;
  outPath: string;
  /** Most bytes of file content in the app (default {@link DEFAULT_MAX_APP_BYTES}). */
  maxBytes?: number;
}

/** A written dynamic release. */
export interface PackagedDynamicRelease {
  sha256: string;
  size: number;
  fileCount: number;
  /** Bytes of file content in the app. */
  appBytes: number;
  skipped: SkippedPath[];
}

/**
 * Writes a dynamic release (see {@link DynamicReleaseManifest}): a gzipped tar, made with
 * node-tar in portable mode, whose first entry is `release.json` and whose others are the app
 * tree under `app/`, listed by {@link collectAppTree} (sorted, modes normalized, mtime 0,
 * symlinks inside the tree kept as links). The same manifest and tree give the same bytes.
 */
export async function packageDynamicRelease(options: PackageDynamicOptions): Promise<PackagedDynamicRelease> {
  const tree = await collectAppTree(options.appDir, options.maxBytes ?? DEFAULT_MAX_APP_BYTES);
  await mkdir(options.stageDir, { recursive: true });
  const manifestPath = join(options.stageDir, RELEASE_MANIFEST_ENTRY);
  await writeFile(manifestPath, `${JSON.stringify(options.manifest, null, 2)}\n`, { mode: 0o644 });
  const stagedApp = join(options.stageDir, DYNAMIC_APP_DIR);
  await rename(options.appDir, stagedApp);

  // Our own stats, normalized, stand in for the ones node-tar would take itself.
  const statCache = new Map<string, Stats>([
    [manifestPath, await statWithMode(manifestPath, 0o644)],
    [stagedApp, await statWithMode(stagedApp, 0o755)],
  ]);
  for (const entry of tree.entries) statCache.set(join(stagedApp, entry.path), entry.stat);

  const paths = [RELEASE_MANIFEST_ENTRY, DYNAMIC_APP_DIR, ...tree.entries.map((e) => `${DYNAMIC_APP_DIR}/${e.path}`)];
  const digest = await writeReleaseTgz({ cwd: options.stageDir, paths, statCache, outPath: options.outPath });
  return {
    ...digest,
    fileCount: tree.entries.filter((e) => e.kind !== 'dir').length,
    appBytes: tree.totalBytes,
    skipped: tree.skipped,
  };
}
