/**
 * Starting an instance's top process so that it outlives the agent: its own session and
 * process group, no stdin, output appended to the instance's log file (by descriptor, so the
 * agent holds no pipe the instance could block on), and unreferenced, so the agent can exit
 * while it keeps running.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Socket } from 'node:net';
import { SlipwayError } from '../../core/errors.js';

/** What to start; see {@link spawnDetached}. */
export interface DetachedSpawnOptions {
  argv: readonly string[];
  /** The complete environment; nothing is inherited. */
  env: Record<string, string>;
  cwd?: string;
  /** stdout and stderr are appended here. */
  logPath: string;
  /** Written to the child's fd 3 (a pipe) and closed, when given. */
  fd3Input?: string;
  /** Called when the child exits (only while this process lives, obviously). */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

/** Starts the process and resolves with its pid once it exists. */
export async function spawnDetached(options: DetachedSpawnOptions): Promise<number> {
  const [file, ...args] = options.argv;
  if (file === undefined) throw new TypeError('argv must not be empty');
  await mkdir(dirname(options.logPath), { recursive: true });
  const log = openSync(options.logPath, 'a', 0o640);
  try {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      shell: false,
      stdio: ['ignore', log, log, ...(options.fd3Input === undefined ? [] : ['pipe' as const])],
    });
    try {
      await once(child, 'spawn');
    } catch (cause) {
      throw new SlipwayError('internal_error', `could not start ${file}: ${(cause as Error).message}`, {
        cause,
        details: { argv: [...options.argv] },
      });
    }
    child.on('exit', options.onExit);
    child.unref();
    const pipe = child.stdio[3] as Socket | null | undefined;
    if (pipe && options.fd3Input !== undefined) {
      // A sandbox that fails before reading its arguments closes the pipe; its exit (and log)
      // says why, so the write error itself carries nothing more.
      pipe.on('error', () => {});
      pipe.end(options.fd3Input);
      pipe.unref();
    }
    if (child.pid === undefined) throw new SlipwayError('internal_error', `${file} started without a pid`);
    return child.pid;
  } finally {
    // The child has its own copy of the descriptor now.
    closeSync(log);
  }
}
