/** Finding and killing the platform's processes from tests, through /proc. */
import { readdir, readFile } from 'node:fs/promises';

/** The pid of the `slipway agent` process of the platform in `home`. */
export async function findAgentPid(home: string): Promise<number> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      if (argv.at(-1) !== 'agent') continue;
      const env = (await readFile(`/proc/${name}/environ`, 'utf8')).split('\0');
      if (env.includes(`SLIPWAY_HOME=${home}`)) return Number(name);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  throw new Error(`no agent process for ${home}`);
}

/** SIGKILLs every pid given (a process tree), ignoring ones already gone. */
export function killTree(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
