import { randomBytes } from 'node:crypto';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../util/process-alive.js';
import { isSha256Hex } from '../util/sha256.js';

/**
 * How long an unpacked release no instance uses stays on disk: long enough that a rollback or
 * a wake soon after a version stopped finds its tree and does not download and unpack it again.
 */
export const DEFAULT_UNUSED_RELEASE_GRACE_MS = 30 * 60_000;
/** Most unused releases kept within the grace (the newest), so a burst of deploys stays bounded. */
export const DEFAULT_MAX_UNUSED_RELEASES = 3;

/** How the agent's unpacked releases are collected. */
export interface ReleaseSweepOptions {
  /** How long a release stays once no instance uses it; default {@link DEFAULT_UNUSED_RELEASE_GRACE_MS}. */
  graceMs?: number;
  /** Most unused releases kept within the grace, newest first; default {@link DEFAULT_MAX_UNUSED_RELEASES}. */
  maxUnused?: number;
  /** The clock (tests). */
  now?: () => number;
}

/** What one sweep did. */
export interface ReleaseSweepResult {
  /** Releases removed (sha256s). */
  removed: string[];
  /** Unused releases kept (within the grace and the count). */
  keptUnused: number;
}

/** Inputs of {@link sweepReleases}, from the release store that owns the folder. */
export interface SweepInput {
  dir: string;
  now: number;
  options: ReleaseSweepOptions;
  /**
   * When each release was last handed out or seen in use; a release seen here for the first
   * time (one unpacked by an earlier agent) starts its grace now. Updated in place.
   */
  lastUsed: Map<string, number>;
  /** True while release `sha256` is in use, being fetched or being removed: it stays. */
  busy(sha256: string): boolean;
  /**
   * Runs `remove` as the removal of `sha256` (a start of it waits for it). Called in the same
   * synchronous step as a {@link busy} check that said false.
   */
  removing(sha256: string, remove: () => Promise<void>): Promise<void>;
}

/** Temp names of a release store: `.<sha256>.<pid>.<what>` (release-store.ts, and ours below). */
const TEMP_NAME = /^\.([0-9a-f]{64})\.(\d+)\.(?:download|unpack|[0-9a-f]+\.remove)$/;

/**
 * One pass over `agent/releases/`: releases unused for the grace, and the oldest unused past
 * the most kept, are moved aside (one rename, so a start never sees half a tree) and deleted;
 * temp files of agent processes that died are deleted too. Releases in use are not touched.
 */
export async function sweepReleases(input: SweepInput): Promise<ReleaseSweepResult> {
  const graceMs = input.options.graceMs ?? DEFAULT_UNUSED_RELEASE_GRACE_MS;
  const maxUnused = input.options.maxUnused ?? DEFAULT_MAX_UNUSED_RELEASES;
  const entries = await readdir(input.dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const result: ReleaseSweepResult = { removed: [], keptUnused: 0 };
  const releases: string[] = [];
  for (const entry of entries) {
    const temp = TEMP_NAME.exec(entry.name);
    if (temp !== null) {
      const pid = Number(temp[2]);
      if (pid !== process.pid && !processAlive(pid)) await rm(join(input.dir, entry.name), { recursive: true, force: true });
      continue;
    }
    if (entry.isDirectory() && isSha256Hex(entry.name)) releases.push(entry.name);
  }
  // Releases that are gone (a failed download) keep no clock.
  const onDisk = new Set(releases);
  for (const sha of input.lastUsed.keys()) if (!onDisk.has(sha) && !input.busy(sha)) input.lastUsed.delete(sha);
  const unused: string[] = [];
  for (const sha of releases) {
    // In use now: its grace starts again once it is not. Seen first: its grace starts now.
    const busy = input.busy(sha);
    if (busy || !input.lastUsed.has(sha)) input.lastUsed.set(sha, input.now);
    if (!busy) unused.push(sha);
  }
  // Newest first: the most recently used are the likeliest to be rolled back to or woken.
  unused.sort((a, b) => (input.lastUsed.get(b) ?? 0) - (input.lastUsed.get(a) ?? 0));
  for (const sha of unused) {
    const fresh = input.now - (input.lastUsed.get(sha) ?? input.now) < graceMs;
    if (fresh && result.keptUnused < maxUnused) {
      result.keptUnused++;
      continue;
    }
    // Asked again in the same synchronous step as the claim: a start may have taken it up since.
    if (input.busy(sha)) continue;
    await input.removing(sha, () => moveAsideAndDelete(input.dir, sha));
    result.removed.push(sha);
    input.lastUsed.delete(sha);
  }
  return result;
}

async function moveAsideAndDelete(dir: string, sha256: string): Promise<void> {
  const aside = join(dir, `.${sha256}.${process.pid}.${randomBytes(4).toString('hex')}.remove`);
  try {
    await rename(join(dir, sha256), aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}
