/**
 * Finding an instance's processes without cgroups (a host whose cgroups cannot limit it): the
 * sandbox has its own pid namespace, so everything the app forks, setsids or daemonises is a
 * descendant of bubblewrap's monitor (orphans are re-parented to the namespace's pid 1, itself
 * the monitor's child). The monitor's start time guards against a recycled pid after an agent
 * restart.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { isProcessAlive } from '../../util/process-group.js';

/** The kernel's start time of `pid` (clock ticks since boot), or null when it is gone. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised name (which may hold spaces); starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const value = Number(fields[19]);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** Children of every thread of `pid`. */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const task of tasks) {
    try {
      for (const p of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ')) if (p.trim()) out.push(Number(p));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/**
 * `pid` and all its live descendants, when `pid` is alive and still the process that started
 * at `startTime`; otherwise none.
 */
export function processTree(pid: number, startTime: number | null): number[] {
  if (!isProcessAlive(pid) || (startTime !== null && processStartTime(pid) !== startTime)) return [];
  const seen = new Set<number>([pid]);
  const queue = [pid];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    for (const child of childPids(next)) {
      if (!seen.has(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
  return [...seen].filter((p) => p === pid || isProcessAlive(p));
}
