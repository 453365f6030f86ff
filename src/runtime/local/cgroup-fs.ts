/**
 * File operations both cgroup versions share: reading a `cgroup.procs`, signalling its pids,
 * killing until empty, removing groups that are still draining.
 */
import { readFileSync } from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Pids listed in `dir/cgroup.procs`; a missing group lists none. */
export function readProcs(dir: string): number[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map(Number);
}

/** Sends `signal` to each pid not in `spare`; a vanished process is not an error. */
export function signalPids(pids: readonly number[], signal: NodeJS.Signals, spare: ReadonlySet<number> = new Set()): void {
  for (const pid of pids) {
    if (spare.has(pid)) continue;
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/**
 * SIGKILLs what `members` lists until it lists nothing. Repeats because a process can fork
 * between the read and the kill; the pids limit keeps that race short.
 */
export async function killUntilEmpty(members: () => number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = members();
    if (pids.length === 0) return true;
    signalPids(pids, 'SIGKILL');
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Removes groups. A group whose last task is still exiting refuses rmdir with EBUSY for a
 * moment, so that is retried briefly. Idempotent.
 */
export async function removeGroups(dirs: readonly string[], timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const dir of dirs) {
    for (;;) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Removes a group other platforms may share; busy or not empty means someone still uses it. */
export async function removeSharedGroup(dir: string): Promise<void> {
  await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (!['ENOENT', 'EBUSY', 'ENOTEMPTY', 'EEXIST'].includes(err.code ?? '')) throw err;
  });
}
