import type { Stats } from 'node:fs';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import { sha256File } from '../util/sha256.js';
import { collectAppTree } from './app-tree.js';
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
  await writeFile(join(options.stageDir, RELEASE_MANIFEST_ENTRY), `${JSON.stringify(options.manifest, null, 2)}\n`, { mode: 0o644 });
  const stagedApp = join(options.stageDir, DYNAMIC_APP_DIR);
  await rename(options.appDir, stagedApp);

  // Our own stats, normalized, stand in for the ones node-tar would take itself.
  const statCache = new Map<string, Stats>();
  const manifestStat = await stat(join(options.stageDir, RELEASE_MANIFEST_ENTRY));
  manifestStat.mode = (manifestStat.mode & 0o170000) | 0o644;
  statCache.set(join(options.stageDir, RELEASE_MANIFEST_ENTRY), manifestStat);
  const rootStat = await stat(stagedApp);
  rootStat.mode = (rootStat.mode & 0o170000) | 0o755;
  statCache.set(stagedApp, rootStat);
  for (const entry of tree.entries) statCache.set(join(stagedApp, entry.path), entry.stat);

  const paths = [RELEASE_MANIFEST_ENTRY, DYNAMIC_APP_DIR, ...tree.entries.map((e) => `${DYNAMIC_APP_DIR}/${e.path}`)];
  await create(
    {
      file: options.outPath,
      cwd: options.stageDir,
      gzip: { portable: true, level: 6 },
      portable: true,
      mtime: new Date(0),
      noDirRecurse: true,
      strict: true,
      statCache,
    },
    paths,
  );
  const digest = await sha256File(options.outPath);
  return {
    ...digest,
    fileCount: tree.entries.filter((e) => e.kind !== 'dir').length,
    appBytes: tree.totalBytes,
    skipped: tree.skipped,
  };
}
