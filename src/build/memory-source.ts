import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { readTarEntries } from '../util/tar-entries.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { compareBytes, normalizeEntryPath } from './archive/entry-path.js';
import { prepareEmptyDir } from './archive/dest-dir.js';
import { encodeDeterministicTar } from './archive/deterministic-tar.js';
import type { MemoryUploadEntry } from './archive/spilling-writer.js';
import type { SourceDirEntry, SourceView } from './detect-support.js';
import { createSnapshotFilter } from './snapshot-filter.js';
import type { SkippedPath } from './source-tree.js';

export type { MemoryUploadEntry } from './archive/spilling-writer.js';

/** A regular file of a source held in memory. */
export interface SourceFile {
  /** POSIX path relative to the root. */
  path: string;
  data: Buffer;
  executable: boolean;
}

/** Linux gives up after 40 links in one lookup (ELOOP); so does {@link freezeUpload}. */
const MAX_LINK_HOPS = 40;

/**
 * The files a snapshot of this upload holds, exactly as `collectTree` would find them in the
 * unpacked tree (docs/architecture.md §2 step 1): the snapshot exclusions applied (`keepPath`
 * kept), sorted by path in byte order, a symlink to a regular file inside the tree standing as
 * that file under its own name, and every other symlink skipped with the reason `collectTree`
 * gives. The upload was checked whole first (no link leaves the root).
 */
export function freezeUpload(entries: readonly MemoryUploadEntry[], keepPath?: string): { files: SourceFile[]; skipped: SkippedPath[] } {
  const exclude = createSnapshotFilter(keepPath);
  const files = new Map<string, MemoryUploadEntry>();
  const links = new Map<string, string>();
  const dirs = new Set<string>(['']);
  for (const e of entries) {
    const segments = e.path.split('/');
    for (let i = 1; i < segments.length; i++) dirs.add(segments.slice(0, i).join('/'));
    if (e.kind === 'dir') dirs.add(e.path);
    else if (e.kind === 'symlink') links.set(e.path, e.linkpath ?? '');
    else files.set(e.path, e);
  }
  // collectTree does not descend into an excluded folder: a path goes when it or a parent does.
  const excluded = (path: string): boolean => {
    const segments = path.split('/');
    for (let i = 1; i <= segments.length; i++) if (exclude(segments.slice(0, i).join('/'))) return true;
    return false;
  };
  const out: SourceFile[] = [];
  const skipped: SkippedPath[] = [];
  for (const [path, e] of files) {
    if (!excluded(path)) out.push({ path, data: e.data ?? Buffer.alloc(0), executable: (e.mode & 0o111) !== 0 });
  }
  for (const [path, target] of links) {
    if (excluded(path)) continue;
    const resolved = resolveLink({ files, links, dirs }, path, target);
    if (typeof resolved === 'string') skipped.push({ path, reason: resolved });
    else out.push({ path, data: resolved.data ?? Buffer.alloc(0), executable: (resolved.mode & 0o111) !== 0 });
  }
  out.sort((a, b) => compareBytes(a.path, b.path));
  skipped.sort((a, b) => compareBytes(a.path, b.path));
  return { files: out, skipped };
}

interface MemoryTree {
  files: Map<string, MemoryUploadEntry>;
  links: Map<string, string>;
  dirs: Set<string>;
}

/** What `realpath` would make of link `path`: the file it stands for, or why it is skipped. */
function resolveLink(tree: MemoryTree, path: string, target: string): MemoryUploadEntry | string {
  let hops = MAX_LINK_HOPS;
  const missing = 'symlink target does not exist';
  const walk = (start: string[], to: string): string[] | string => {
    let current = [...start];
    const segments = to.split('/').filter((s) => s !== '' && s !== '.');
    for (const [i, segment] of segments.entries()) {
      if (segment === '..') {
        if (current.length === 0) return 'symlink leads outside the source';
        current.pop();
        continue;
      }
      current.push(segment);
      const next = tree.links.get(current.join('/'));
      if (next !== undefined) {
        if (--hops < 0) return missing;
        const resolved = walk(current.slice(0, -1), next);
        if (typeof resolved === 'string') return resolved;
        current = resolved;
      }
      // Every step but the last must be a folder, or the lookup fails (ENOENT, ENOTDIR).
      if (i < segments.length - 1 && !tree.dirs.has(current.join('/'))) return missing;
    }
    return current;
  };
  const resolved = walk(path.split('/').slice(0, -1), target);
  if (typeof resolved === 'string') return resolved;
  const file = tree.files.get(resolved.join('/'));
  if (file !== undefined) return file;
  return tree.dirs.has(resolved.join('/')) ? 'symlink to something other than a regular file' : missing;
}

/** The snapshot tar of `files` (already frozen and sorted): byte-identical to `createSnapshot`'s. */
export function encodeSnapshot(files: readonly SourceFile[]): Buffer {
  if (files.length === 0) throw new SlipwayError('empty_source', 'the source has no files');
  return encodeDeterministicTar(files.map((f) => ({ path: f.path, data: f.data, mode: f.executable ? 0o755 : 0o644 })));
}

/**
 * The files of a snapshot tar held in memory, as views into it. Snapshots are ours but come
 * back from storage: only regular files with safe, normalized paths are accepted.
 */
export function snapshotFiles(tar: Buffer): SourceFile[] {
  return readTarEntries(tar).map((e) => {
    const path = normalizeEntryPath(e.path);
    if (path !== e.path || path === '') throw new SlipwayError('invalid_archive', `snapshot entry ${JSON.stringify(e.path)} is not a normalized path`);
    return { path, data: e.data, executable: (e.mode & 0o111) !== 0 };
  });
}

/** Detection's view of files held in memory (see `detectApp`). */
export function createSourceView(files: readonly SourceFile[]): SourceView {
  const byPath = new Map(files.map((f) => [f.path, f.data]));
  const folders = new Map<string, Map<string, SourceDirEntry>>();
  const folder = (path: string): Map<string, SourceDirEntry> => {
    let entries = folders.get(path);
    if (entries === undefined) folders.set(path, (entries = new Map()));
    return entries;
  };
  for (const f of files) {
    const segments = f.path.split('/');
    for (let i = 0; i < segments.length; i++) {
      const parent = segments.slice(0, i).join('/');
      const name = segments[i]!;
      const isFile = i === segments.length - 1;
      if (!folder(parent).has(name)) folder(parent).set(name, { name, isFile, isDirectory: !isFile });
    }
  }
  return {
    file: (rel) => byPath.get(normalizeRel(rel)),
    list: (rel) => [...(folders.get(normalizeRel(rel))?.values() ?? [])].sort((a, b) => compareBytes(a.name, b.name)),
  };
}

function normalizeRel(rel: string): string {
  return rel.split('/').filter((s) => s !== '' && s !== '.').join('/');
}

/** Writes files held in memory into an empty `destDir` (for a build that needs a tree). */
export async function writeSourceFiles(files: readonly SourceFile[], destDir: string): Promise<void> {
  await prepareEmptyDir(destDir);
  const dirs = [...new Set(files.map((f) => dirname(f.path)).filter((d) => d !== '.'))].sort();
  for (const dir of dirs) await mkdir(join(destDir, dir), { recursive: true, mode: 0o755 });
  await mapConcurrent(files, 16, (f) => writeFile(join(destDir, f.path), f.data, { mode: f.executable ? 0o755 : 0o644, flag: 'wx' }));
}
