import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { create } from 'tar';
import { sha256File, type Digest } from '../../util/sha256.js';

/** Options for {@link writeReleaseTgz}. */
export interface ReleaseTgzOptions {
  /** The folder `paths` are relative to. */
  cwd: string;
  /** The entries, in archive order; folders are not recursed into, so list their contents too. */
  paths: readonly string[];
  /**
   * Stats for every path, keyed by absolute path, with modes already normalized (see
   * {@link statWithMode}): node-tar takes modes, sizes and types from here instead of the disk.
   */
  statCache: Map<string, Stats>;
  outPath: string;
}

/**
 * Writes a dynamic release (an app tree or an image) as a gzipped tar whose bytes depend only
 * on the paths, their content and the given modes: node-tar in portable mode (no owners, no
 * atime/ctime), mtime 0 on every entry and in the gzip header, level 6, and `strict` so an
 * entry node-tar cannot archive fails the write instead of being left out. The same input
 * gives the same bytes, which is what lets a rebuild be recognised by its digest.
 */
export async function writeReleaseTgz(options: ReleaseTgzOptions): Promise<Digest> {
  await create(
    {
      file: options.outPath,
      cwd: options.cwd,
      gzip: { portable: true, level: 6 },
      portable: true,
      mtime: new Date(0),
      noDirRecurse: true,
      strict: true,
      statCache: options.statCache,
    },
    [...options.paths],
  );
  return sha256File(options.outPath);
}

/** `path`'s stats with the permission bits replaced by `mode` (the file type bits kept). */
export async function statWithMode(path: string, mode: number): Promise<Stats> {
  const st = await stat(path);
  st.mode = (st.mode & 0o170000) | mode;
  return st;
}
