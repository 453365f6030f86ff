import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { mapConcurrent } from '../util/map-concurrent.js';
import { compareBytes, isCarriable } from './archive/entry-path.js';

/** A regular file to publish, as found on disk. */
export interface TreeFile {
  /** POSIX path relative to the root; for a symlink, the link's own path. */
  path: string;
  /** Where to read the bytes: the file itself, or the file a symlink resolves to. */
  absPath: string;
  size: number;
  executable: boolean;
}

/** Something in the tree that was left out, and why; worth a line in the build log. */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** Options for {@link collectTree}. */
export interface CollectTreeOptions {
  root: string;
  /** Leaves a path (and, for a directory, everything under it) out silently. */
  exclude?: (path: string) => boolean;
}

/**
 * Lists the regular files under `root`, sorted by path in byte order. A symlink that resolves
 * to a regular file inside the root counts as that file (under the link's name); any other
 * symlink, and sockets, FIFOs, devices and names an archive could not carry safely, are
 * skipped and reported.
 */
export async function collectTree(options: CollectTreeOptions): Promise<{ files: TreeFile[]; skipped: SkippedPath[] }> {
  const realRoot = await realpath(options.root);
  const files: TreeFile[] = [];
  const skipped: SkippedPath[] = [];
  const exclude = options.exclude ?? (() => false);

  const visit = async (dir: string, prefix: string): Promise<void> => {
    const dirents = await readdir(dir, { withFileTypes: true });
    await mapConcurrent(dirents, 32, async (dirent: Dirent) => {
      const path = prefix === '' ? dirent.name : `${prefix}/${dirent.name}`;
      if (exclude(path)) return;
      if (!isCarriable(path)) {
        skipped.push({ path, reason: 'file name not supported' });
        return;
      }
      const abs = join(dir, dirent.name);
      if (dirent.isDirectory()) return visit(abs, path);
      if (dirent.isFile()) {
        const st = await lstat(abs);
        files.push({ path, absPath: abs, size: st.size, executable: (st.mode & 0o111) !== 0 });
      } else if (dirent.isSymbolicLink()) {
        const resolved = await resolveLink(abs, realRoot);
        if (typeof resolved === 'string') skipped.push({ path, reason: resolved });
        else files.push({ path, ...resolved });
      } else {
        skipped.push({ path, reason: 'not a regular file' });
      }
    });
  };
  await visit(options.root, '');
  files.sort((a, b) => compareBytes(a.path, b.path));
  skipped.sort((a, b) => compareBytes(a.path, b.path));
  return { files, skipped };
}


/** The file a link stands for, or the reason it is skipped. */
async function resolveLink(abs: string, realRoot: string): Promise<Omit<TreeFile, 'path'> | string> {
  let target: string;
  try {
    target = await realpath(abs);
  } catch {
    return 'symlink target does not exist';
  }
  if (!target.startsWith(realRoot + sep)) return 'symlink leads outside the source';
  const st = await stat(target);
  if (!st.isFile()) return 'symlink to something other than a regular file';
  return { absPath: target, size: st.size, executable: (st.mode & 0o111) !== 0 };
}
