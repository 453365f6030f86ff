/**
 * Who owns an engine's state folder: the dockerd running on it, and the lock that lets only one
 * process at a time decide whether to start one. Two dockerds on one state must never meet: the
 * second one's failed start would be cleaned up by killing everything that names the state, the
 * first one and its containers included (an agent restart while `up` started the engine, or a
 * pid file that went missing, is enough to get there).
 */
import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { safeReaddir } from '../../util/host-cleanup.js';
import { processAlive } from '../../util/process-alive.js';
import { waitFor } from '../../util/wait-for.js';

/** True when process `pid` is a dockerd (by its arguments) whose data-root is `dataRoot`. */
export function isDockerdOn(pid: number, dataRoot: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(`--data-root=${dataRoot}`);
  } catch {
    return false;
  }
}

function readPidFile(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Every live dockerd on `dataRoot`: the pid file's process when it is one, and any other whose
 * arguments name that data-root (found even when the pid file is gone). The pid file alone is
 * not trusted: after a reboot it may name some unrelated process that reused the pid.
 */
export function engineOwners(layout: { pidFile: string; dataRoot: string }): number[] {
  const owners = new Set<number>();
  const named = readPidFile(layout.pidFile);
  if (named !== null && processAlive(named) && isDockerdOn(named, layout.dataRoot)) owners.add(named);
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    if (isDockerdOn(Number(name), layout.dataRoot)) owners.add(Number(name));
  }
  return [...owners];
}

// In-process holders, so two calls in one process queue instead of both seeing the file as theirs.
const heldHere = new Map<string, Promise<void>>();

/**
 * Takes the state folder's start lock (`<stateDir>/engine.lock`, holding the taker's pid),
 * waiting up to `timeoutMs` for another live holder; a lock whose process is gone is taken
 * over. Resolves to its release. Fails `unavailable` when the holder keeps it past the wait.
 */
export async function lockEngineState(stateDir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const previous = heldHere.get(stateDir) ?? Promise.resolve();
  let releaseHere!: () => void;
  const mine = new Promise<void>((resolve) => (releaseHere = resolve));
  const chained = previous.then(() => mine);
  heldHere.set(stateDir, chained);
  let timer: NodeJS.Timeout | undefined;
  const turn = await Promise.race([
    previous.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (!turn) {
    // Giving up keeps the queue's order: whoever comes next still waits for the holder.
    releaseHere();
    throw new SlipwayError('unavailable', `this process is already starting the Docker engine on ${stateDir}`, { details: { stateDir, holder: process.pid } });
  }
  const path = join(stateDir, 'engine.lock');
  // Written whole to a file of our own, then linked: a taker never sees an empty lock file.
  const draft = join(stateDir, `.engine.lock.${process.pid}`);
  let holder: number | null = null;
  try {
    await writeFile(draft, `${process.pid}\n`, { mode: 0o600 });
    await waitFor(async () => {
      try {
        await link(draft, path);
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) return false;
      await rm(path, { force: true }); // stale: its process is gone
      return false;
    }, { timeoutMs, intervalMs: 50, description: 'the engine start lock' });
  } catch (err) {
    releaseHere();
    if (heldHere.get(stateDir) === chained) heldHere.delete(stateDir);
    throw new SlipwayError('unavailable', `another process (pid ${holder ?? 'unknown'}) is starting the Docker engine on ${stateDir}`, {
      cause: err,
      details: { stateDir, holder },
    });
  } finally {
    await rm(draft, { force: true });
  }
  return async () => {
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (owner === process.pid) await rm(path, { force: true });
    releaseHere();
    if (heldHere.get(stateDir) === chained) heldHere.delete(stateDir);
  };
}
