import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inArray } from 'drizzle-orm';
import { versions } from '../../store/schema.js';
import type { Db } from '../../store/store.js';

/** Where a server keeps scratch that a crash can leave behind. */
export interface ScratchDirs {
  /** Build trees, `<workDir>/<version id>/`. */
  workDir: string;
  /** Live build logs, `<logDir>/<version id>.log`. */
  logDir: string;
  /** Uploads being unpacked and snapshots being made. */
  uploadDir: string;
}

/** What a scratch sweep found: entries removed (or that a dry run would remove) and their bytes. */
export interface ScratchSweepResult {
  entries: number;
  bytes: number;
}

/**
 * Removes scratch no running work owns: build trees and live logs of versions that are no
 * longer queued or building (a build that ended removes its own; a crash or a version given up
 * after interruptions leaves them), and uploads older than `graceMs` (an upload in progress
 * keeps writing, and the server start removes all of them anyway). Names that are not a
 * version's are left alone: the folders may be shared with nothing else, but we do not assume so.
 */
export async function sweepScratch(db: Db, dirs: ScratchDirs, options: { graceMs: number; dryRun: boolean; now: number }): Promise<ScratchSweepResult> {
  const result: ScratchSweepResult = { entries: 0, bytes: 0 };
  const work = (await names(dirs.workDir)).filter((n) => n.startsWith('ver_')).map((n) => ({ dir: dirs.workDir, name: n, id: n }));
  const logs = (await names(dirs.logDir)).filter((n) => n.startsWith('ver_') && n.endsWith('.log')).map((n) => ({ dir: dirs.logDir, name: n, id: n.slice(0, -4) }));
  const candidates = [...work, ...logs];
  const ids = [...new Set(candidates.map((c) => c.id))];
  const busy = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.select({ id: versions.id, state: versions.state }).from(versions).where(inArray(versions.id, ids.slice(i, i + 500)));
    for (const r of rows) if (r.state === 'queued' || r.state === 'building') busy.add(r.id);
  }
  for (const c of candidates) {
    if (busy.has(c.id)) continue;
    await remove(join(c.dir, c.name), options.dryRun, result);
  }
  for (const name of await names(dirs.uploadDir)) {
    const path = join(dirs.uploadDir, name);
    const newest = await newestMtime(path);
    if (newest === 0 || options.now - newest < options.graceMs) continue;
    await remove(path, options.dryRun, result);
  }
  return result;
}

async function names(dir: string): Promise<string[]> {
  return readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}

async function remove(path: string, dryRun: boolean, result: ScratchSweepResult): Promise<void> {
  const bytes = await treeBytes(path);
  if (!dryRun) await rm(path, { recursive: true, force: true });
  result.entries++;
  result.bytes += bytes;
}

/** Bytes of the files under `path` (0 when it is gone). */
async function treeBytes(path: string): Promise<number> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return 0;
  if (!st.isDirectory()) return st.size;
  let sum = 0;
  for (const name of await names(path)) sum += await treeBytes(join(path, name));
  return sum;
}

/** The newest mtime in a tree: an upload being written keeps touching some file. */
async function newestMtime(path: string): Promise<number> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return 0;
  let newest = st.mtimeMs;
  if (st.isDirectory()) for (const name of await names(path)) newest = Math.max(newest, await newestMtime(join(path, name)));
  return newest;
}
