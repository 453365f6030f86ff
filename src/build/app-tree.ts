import type { Stats } from 'node:fs';
import { lstat, readdir, readlink, realpath, symlink, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { SlipwayError, isSlipwayError } from '../core/errors.js';
import { compareBytes, isCarriable } from './archive/entry-path.js';
import { TreeChecker } from './archive/tree-checker.js';
import type { SkippedPath } from './source-tree.js';

/** One entry of an app tree, ready to pack. */
export interface AppTreeEntry {
  /** POSIX path relative to the app root. */
  path: string;
  kind: 'file' | 'dir' | 'symlink';
  /** `lstat` of the entry with the mode normalized (see {@link collectAppTree}). */
  stat: Stats;
}

/** What {@link collectAppTree} found. */
export interface AppTree {
  /** Sorted by path in byte order; parents before children. */
  entries: AppTreeEntry[];
  skipped: SkippedPath[];
  /** Bytes of file content. */
  totalBytes: number;
}

const S_IFMT = 0o170000;
const UNLIMITED = { maxUploadBytes: Number.MAX_SAFE_INTEGER, maxUnpackedBytes: Number.MAX_SAFE_INTEGER, maxFiles: Number.MAX_SAFE_INTEGER };

/**
 * Lists an app tree for a dynamic release: directories, regular files and symlinks, sorted.
 * Modes are normalized (directories and executables 0755, other files 0644) and link counts
 * set to 1, so the archive depends on content only and never holds hard links. A symlink is
 * kept when, followed through the other links the way the kernel would, it stays inside the
 * tree; an absolute one pointing inside is rewritten on disk as relative first. Links leaving
 * the tree, sockets, FIFOs, devices and names an archive cannot carry are skipped and
 * reported. More than `maxBytes` of file content is `build_output_too_large`.
 */
export async function collectAppTree(root: string, maxBytes: number): Promise<AppTree> {
  const roots = [root, await realpath(root)];
  const entries: AppTreeEntry[] = [];
  const skipped: SkippedPath[] = [];
  let totalBytes = 0;

  const visit = async (dir: string, prefix: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const path = prefix === '' ? name : `${prefix}/${name}`;
      const abs = join(dir, name);
      if (!isCarriable(path)) {
        skipped.push({ path, reason: 'file name not supported' });
        continue;
      }
      const st = await lstat(abs);
      if (st.isDirectory()) {
        entries.push({ path, kind: 'dir', stat: normalized(st, 0o755) });
        await visit(abs, path);
      } else if (st.isFile()) {
        totalBytes += st.size;
        if (totalBytes > maxBytes) {
          throw new SlipwayError('build_output_too_large', `the built app is larger than ${maxBytes} bytes`, {
            details: { limit: maxBytes },
          });
        }
        entries.push({ path, kind: 'file', stat: normalized(st, st.mode & 0o111 ? 0o755 : 0o644) });
      } else if (st.isSymbolicLink()) {
        const reason = await makeRelative(abs, roots);
        if (reason) skipped.push({ path, reason });
        else entries.push({ path, kind: 'symlink', stat: normalized(await lstat(abs), 0o777) });
      } else {
        skipped.push({ path, reason: 'not a regular file, directory or symlink' });
      }
    }
  };
  await visit(root, '');
  entries.sort((a, b) => compareBytes(a.path, b.path));
  const kept = await dropEscapingLinks(entries, root, skipped);
  skipped.sort((a, b) => compareBytes(a.path, b.path));
  return { entries: kept, skipped, totalBytes };
}

/** Rewrites an absolute link into the tree as a relative one; returns why a link is unusable. */
async function makeRelative(abs: string, roots: string[]): Promise<string | undefined> {
  const target = await readlink(abs);
  if (!isAbsolute(target)) return undefined;
  const inside = roots.find((r) => target === r || target.startsWith(r + sep));
  if (inside === undefined) return 'symlink leads outside the app';
  const linkDir = dirname(join(inside, relative(roots[0] as string, abs)));
  await unlink(abs);
  await symlink(relative(linkDir, target) || '.', abs);
  return undefined;
}

/** Removes, one by one, the links the release reader would refuse, until none is left. */
async function dropEscapingLinks(entries: AppTreeEntry[], root: string, skipped: SkippedPath[]): Promise<AppTreeEntry[]> {
  let kept = entries;
  for (;;) {
    const checker = new TreeChecker(UNLIMITED);
    try {
      for (const e of kept) {
        const linkpath = e.kind === 'symlink' ? await readlink(join(root, e.path)) : undefined;
        checker.add({ raw: e.path, path: e.path, kind: e.kind, size: e.kind === 'file' ? e.stat.size : 0, linkpath });
      }
      checker.finish();
      return kept;
    } catch (err) {
      if (!isSlipwayError(err, 'unsafe_archive')) throw err;
      const bad = String(err.details.entry);
      if (!kept.some((e) => e.path === bad && e.kind === 'symlink')) throw err;
      skipped.push({ path: bad, reason: String(err.details.reason) });
      kept = kept.filter((e) => e.path !== bad);
    }
  }
}

function normalized(st: Stats, perm: number): Stats {
  const copy = Object.assign(Object.create(Object.getPrototypeOf(st) as object) as Stats, st);
  copy.mode = (st.mode & S_IFMT) | perm;
  copy.nlink = 1;
  return copy;
}

