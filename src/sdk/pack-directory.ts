import { lstat, readdir, readlink, stat as fsStat } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import * as tar from 'tar';
import { SlipwayError } from '../core/errors.js';
import { SNAPSHOT_EXCLUDED_ANYWHERE, SNAPSHOT_EXCLUDED_AT_ROOT } from '../core/limits.js';

/** Options of {@link packDirectory}. */
export interface PackDirectoryOptions {
  /**
   * A path relative to `dir` that is kept even when the snapshot rules would drop it: the
   * prebuilt output folder (`dist`) when publishing with an output path and no build command.
   */
  keepPath?: string;
}

const ANYWHERE = new Set<string>(SNAPSHOT_EXCLUDED_ANYWHERE);
const AT_ROOT = new Set<string>(SNAPSHOT_EXCLUDED_AT_ROOT);

function normalizeKeepPath(keepPath: string | undefined): string | undefined {
  if (keepPath === undefined) return undefined;
  const normalized = posix.normalize(keepPath.replaceAll('\\', '/')).replace(/^\.\/+|\/+$/g, '');
  return normalized === '' || normalized === '.' ? undefined : normalized;
}

// The kept path and the folders that lead to it escape the exclusions; what lies inside it
// does not, so a `node_modules` below the kept folder is still dropped.
function isKeepOrAncestor(rel: string, keep: string | undefined): boolean {
  return keep !== undefined && (rel === keep || keep.startsWith(`${rel}/`));
}

function isInsideKeep(rel: string, keep: string | undefined): boolean {
  return keep !== undefined && rel.startsWith(`${keep}/`);
}

// A symlink may stay only when it resolves inside the directory: the server refuses archives
// with links that escape, and the target would not exist on the server anyway.
async function symlinkStaysInside(root: string, rel: string): Promise<boolean> {
  const target = await readlink(join(root, rel));
  if (isAbsolute(target)) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(rel), target.replaceAll('\\', '/')));
  return resolved !== '..' && !resolved.startsWith('../');
}

interface Listing {
  /** Sorted POSIX paths relative to the root, each directory before its contents. */
  entries: string[];
  /** How many of them are files or symlinks (directories alone are nothing to publish). */
  files: number;
}

/** Lists what the snapshot keeps, sorted, so identical trees pack to identical archives. */
async function listEntries(root: string, keep: string | undefined): Promise<Listing> {
  const listing: Listing = { entries: [], files: 0 };
  // `restricted`: we are inside an excluded folder only because the kept path lies below it.
  const walk = async (relDir: string, restricted: boolean): Promise<void> => {
    const names = (await readdir(relDir === '' ? root : join(root, relDir))).sort();
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const onKeepLine = isKeepOrAncestor(rel, keep);
      if (restricted && !onKeepLine && !isInsideKeep(rel, keep)) continue;
      const excluded = ANYWHERE.has(name) || AT_ROOT.has(rel);
      if (excluded && !onKeepLine) continue;
      const stat = await lstat(join(root, rel));
      if (stat.isDirectory()) {
        listing.entries.push(rel);
        const reachedKeep = rel === keep || isInsideKeep(rel, keep);
        await walk(rel, (restricted || excluded) && !reachedKeep);
      } else if (stat.isFile() || (stat.isSymbolicLink() && (await symlinkStaysInside(root, rel)))) {
        listing.entries.push(rel);
        listing.files += 1;
      }
      // Sockets, FIFOs and devices are skipped: the server refuses them.
    }
  };
  await walk('', false);
  return listing;
}

/**
 * Packs a directory into a tar.gz in memory, applying the snapshot rules of docs/architecture.md §2:
 * `node_modules`, `.git` and `__pycache__` are left out at any depth, `dist`, `build`,
 * `target` and `.next/cache` only at the root, except `keepPath`. Symlinks that point outside
 * the directory are skipped; ownership is dropped (portable headers).
 *
 * Throws `invalid_request` when `dir` is not an existing directory and `empty_source` when
 * nothing is left to publish.
 *
 * @example
 * const archive = await packDirectory('./my-site', { keepPath: 'dist' });
 * await client.publish('my-site', archive, { outputPath: 'dist', wait: true });
 */
export async function packDirectory(dir: string, options: PackDirectoryOptions = {}): Promise<Buffer> {
  const root = resolve(dir);
  const stat = await fsStat(root).catch(() => undefined);
  if (!stat) {
    throw new SlipwayError('invalid_request', `directory "${dir}" does not exist`, { details: { path: root } });
  }
  if (!stat.isDirectory()) {
    throw new SlipwayError('invalid_request', `"${dir}" is not a directory`, { details: { path: root } });
  }
  const { entries, files } = await listEntries(root, normalizeKeepPath(options.keepPath));
  if (files === 0) {
    throw new SlipwayError('empty_source', `directory "${dir}" has no files to publish after the snapshot exclusions`, {
      details: { path: root },
    });
  }
  const stream = tar.create({ gzip: true, cwd: root, portable: true, noDirRecurse: true }, entries);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
