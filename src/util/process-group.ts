import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How a supervised process group ended. */
export interface GroupExit {
  /** The leader's exit code, or null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when the deadline passed and the group was killed. */
  timedOut: boolean;
  durationMs: number;
}

/** Options for {@link spawnInGroup}. */
export interface SpawnInGroupOptions {
  cwd?: string;
  /** The complete environment; nothing is inherited when this is given. */
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** Run as this user and group (needs root); default: Slipway's own. */
  user?: { uid: number; gid: number };
}

/**
 * Starts `argv` (no shell) as the leader of a new session and process group, so that the
 * whole tree it forks can be signalled at once with {@link signalGroup}.
 */
export function spawnInGroup(argv: readonly string[], options: SpawnInGroupOptions = {}): ChildProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new TypeError('argv must not be empty');
  return spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
    detached: true,
    shell: false,
    uid: options.user?.uid,
    gid: options.user?.gid,
    windowsHide: true,
  });
}

/** Sends `signal` to every process in the group led by `pid`; a vanished group is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** True while any process of the group led by `pid` exists. */
export function groupExists(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while `pid` is a live process. A zombie counts as gone: it has exited and only waits to
 * be reaped, which in a container without a reaping init may never happen.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Options for {@link superviseGroup}. */
export interface SuperviseOptions {
  /** Kill the group when it runs longer than this. No deadline when absent. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL (default 5 s). */
  killGraceMs?: number;
}

/**
 * Waits for a child started with {@link spawnInGroup} to finish and its output pipes to close.
 * On timeout the whole group gets SIGTERM, then SIGKILL after the grace period. When the leader
 * exits, processes it left behind in its group get the same treatment, so nothing a command
 * started outlives it (a process that calls setsid itself escapes; only a cgroup would catch
 * that).
 */
export function superviseGroup(child: ChildProcess, options: SuperviseOptions = {}): Promise<GroupExit> {
  const started = Date.now();
  const graceMs = options.killGraceMs ?? 5000;
  const pid = child.pid;
  return new Promise((resolve, reject) => {
    if (pid === undefined) {
      child.once('error', reject);
      return;
    }
    let timedOut = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      signalGroup(pid, 'SIGTERM');
      killTimer ??= setTimeout(() => {
        if (groupExists(pid)) signalGroup(pid, 'SIGKILL');
      }, graceMs);
    };
    const deadline =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, options.timeoutMs);
    child.once('exit', (code, signal) => {
      exitCode = code;
      exitSignal = signal;
      if (deadline) clearTimeout(deadline);
      if (groupExists(pid)) terminate();
    });
    child.once('close', () => {
      if (deadline) clearTimeout(deadline);
      if (killTimer && !groupExists(pid)) clearTimeout(killTimer);
      // A straggler that closed its pipes may still be running: let the kill timer finish it
      // without holding the event loop open for it.
      killTimer?.unref();
      resolve({ exitCode, signal: exitSignal, timedOut, durationMs: Date.now() - started });
    });
    child.once('error', (err) => {
      if (deadline) clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      reject(err);
    });
  });
}
