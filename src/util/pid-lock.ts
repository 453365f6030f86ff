import { open, readFile, rm } from 'node:fs/promises';
import { SlipwayError } from '../core/errors.js';
import { processAlive as alive } from './process-alive.js';

/** A held lock file; release it on exit. */
export interface PidLock {
  release(): Promise<void>;
}

/**
 * Takes `path` for this process: created exclusively with our pid inside. A file left by a
 * dead process is taken over; one held by a live process is refused with `state_locked`,
 * naming the pid, so a second `slipway up` on the same home stops instead of sharing state
 * (and a second agent on the same state directory does not sweep its releases).
 */
export async function acquirePidLock(path: string, what: string): Promise<PidLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        release: async () => {
          const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
          if (owner === process.pid) await rm(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new SlipwayError('state_locked', `${what} is already running (pid ${owner}, lock ${path}); stop it first`, { details: { pid: owner, lock: path } });
      }
      await rm(path, { force: true }); // stale: its process is gone
    }
  }
  throw new SlipwayError('state_locked', `could not take the lock ${path}`);
}
