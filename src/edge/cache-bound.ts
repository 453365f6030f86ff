import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256Hex } from '../util/sha256.js';
import type { EdgeLogger } from './logger.js';

/** What the bound asks of the cache it trims: which files must stay, and a safe removal. */
export interface CacheBoundRefs {
  /** Files (by sha256) that a known or loading release reads: never removed. */
  referencedFiles(): ReadonlySet<string>;
  /** Removes one file unless something reads it now; true when removed (or already gone). */
  removeFile(sha256: string): Promise<boolean>;
}

/** Options of {@link enforceCacheBound}. */
export interface CacheBoundOptions {
  /** A content-addressed folder: files named by their sha256, directly or one folder down (`ab/<sha256>`). */
  dir: string;
  /** Most bytes the folder may hold (SLIPWAY_EDGE_CACHE_MAX_BYTES). */
  maxBytes: number;
  refs: CacheBoundRefs;
}

/** What one pass did. */
export interface CacheBoundResult {
  /** Bytes in the folder before the pass. */
  bytesBefore: number;
  /** Files removed and their bytes. */
  removed: number;
  removedBytes: number;
}

interface CachedFile {
  sha256: string;
  size: number;
  /** The later of its last read (where the filesystem records one) and its writing. */
  usedAtMs: number;
}

/**
 * Keeps a disk cache under a size: when the folder holds more than `maxBytes`, removes the
 * least recently used files no release needs until it fits. Files a known release reads stay
 * even past the bound (the edge needs them to serve); what it removes is fetched again on
 * demand. The layout is the cache's: any file named by a sha256 counts, temp files do not.
 */
export async function enforceCacheBound(options: CacheBoundOptions): Promise<CacheBoundResult> {
  const files = await listCached(options.dir);
  const bytesBefore = files.reduce((sum, f) => sum + f.size, 0);
  const result: CacheBoundResult = { bytesBefore, removed: 0, removedBytes: 0 };
  if (bytesBefore <= options.maxBytes) return result;
  const keep = options.refs.referencedFiles();
  let total = bytesBefore;
  for (const file of files.filter((f) => !keep.has(f.sha256)).sort((a, b) => a.usedAtMs - b.usedAtMs)) {
    if (total <= options.maxBytes) break;
    if (!(await options.refs.removeFile(file.sha256))) continue;
    total -= file.size;
    result.removed++;
    result.removedBytes += file.size;
  }
  return result;
}

/**
 * Runs {@link enforceCacheBound} every `everyMs` (and on {@link CacheBoundTimer.check}), one
 * pass at a time; a failed pass is logged and the next one tries again.
 */
export function startCacheBound(options: CacheBoundOptions & { everyMs: number; logger: EdgeLogger }): CacheBoundTimer {
  let running: Promise<void> | null = null;
  const check = (): Promise<void> => {
    running ??= enforceCacheBound(options).then(
      (r) => {
        if (r.removed > 0) options.logger.info({ removed: r.removed, bytes: r.removedBytes, before: r.bytesBefore, max: options.maxBytes }, 'trimmed the edge disk cache');
      },
      (err: unknown) => options.logger.warn({ err }, 'could not trim the edge disk cache'),
    ).finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void check(), options.everyMs);
  timer.unref();
  return {
    check,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** A running bound. */
export interface CacheBoundTimer {
  /** Runs a pass now (or joins the one running). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

async function listCached(dir: string): Promise<CachedFile[]> {
  const out: CachedFile[] = [];
  const visit = async (path: string, depth: number): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    for (const entry of entries) {
      if (entry.isDirectory() && depth === 0) await visit(join(path, entry.name), 1);
      if (!entry.isFile() || !isSha256Hex(entry.name)) continue;
      const st = await lstat(join(path, entry.name)).catch(() => null);
      if (st) out.push({ sha256: entry.name, size: st.size, usedAtMs: Math.max(st.atimeMs, st.mtimeMs) });
    }
  };
  await visit(dir, 0);
  return out;
}
