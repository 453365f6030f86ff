import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256Hex } from '../util/sha256.js';

/** One thing a disk cache bound may remove: a per-file blob, or a release's tar and manifest. */
export interface CacheEntry {
  kind: 'file' | 'release';
  sha256: string;
  /** Bytes on disk (a release: its tar and manifest together). */
  size: number;
  /** The later of its last read (where the filesystem records one) and its writing. */
  usedAtMs: number;
}

/**
 * The per-file cache's blobs: files named by their sha256, directly or one folder down
 * (`ab/<sha256>`). Temp files (any other name) are not entries. A missing folder is empty.
 */
export async function listFileEntries(dir: string): Promise<CacheEntry[]> {
  const out: CacheEntry[] = [];
  const visit = async (path: string, depth: number): Promise<void> => {
    for (const entry of await readdirOrEmpty(path)) {
      if (entry.isDirectory() && depth === 0) await visit(join(path, entry.name), 1);
      if (!entry.isFile() || !isSha256Hex(entry.name)) continue;
      const st = await lstat(join(path, entry.name)).catch(() => null);
      if (st) out.push({ kind: 'file', sha256: entry.name, size: st.size, usedAtMs: Math.max(st.atimeMs, st.mtimeMs) });
    }
  };
  await visit(dir, 0);
  return out;
}

/**
 * The releases in `releases/`: `<sha256>.tar` (format 1) and `<sha256>.json` (a format-2
 * manifest), one entry per sha256. Temp files of downloads (`….tmp`) are not entries.
 */
export async function listReleaseEntries(dir: string): Promise<CacheEntry[]> {
  const bySha = new Map<string, CacheEntry>();
  for (const entry of await readdirOrEmpty(dir)) {
    const match = /^([0-9a-f]{64})\.(?:tar|json)$/.exec(entry.name);
    if (!entry.isFile() || match === null) continue;
    const sha256 = match[1] as string;
    const st = await lstat(join(dir, entry.name)).catch(() => null);
    if (st === null) continue;
    const usedAtMs = Math.max(st.atimeMs, st.mtimeMs);
    const known = bySha.get(sha256);
    if (known === undefined) bySha.set(sha256, { kind: 'release', sha256, size: st.size, usedAtMs });
    else bySha.set(sha256, { ...known, size: known.size + st.size, usedAtMs: Math.max(known.usedAtMs, usedAtMs) });
  }
  return [...bySha.values()];
}

async function readdirOrEmpty(path: string) {
  return readdir(path, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
}
