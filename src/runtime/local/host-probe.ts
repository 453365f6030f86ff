/**
 * What this host offers the local driver, found once at driver creation: root, the sandbox and
 * network tools, cgroup v1 controllers and bubblewrap's version. The driver turns the answer
 * into capability flags, so nothing else asks "are we root?" again.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';

/** Absolute paths of the programs the isolated mode runs. */
export interface HostTools {
  ip: string;
  nft: string;
  bwrap: string;
  setpriv: string;
  unshare: string;
  mount: string;
}

/** The outcome of {@link probeIsolation}. */
export type IsolationProbe =
  | { available: true; tools: HostTools; bwrapTmpfsSize: boolean }
  | { available: false; reason: string };

/** The cgroup v1 controllers the driver limits instances with. */
export const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type CgroupController = (typeof CGROUP_CONTROLLERS)[number];

/** Where cgroup v1 hierarchies are mounted. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

// sbin folders are searched too: a root shell without them on PATH still has nft and ip.
const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** The first executable called `name` in the system folders, or null. */
export function findTool(name: string): string | null {
  for (const dir of SEARCH) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/**
 * Whether instances can run isolated here, and if not, why (for the agent's start-up line and
 * for tests that must skip with a reason).
 */
export function probeIsolation(): IsolationProbe {
  if (process.getuid?.() !== 0) return { available: false, reason: 'not running as root' };
  const names = ['ip', 'nft', 'bwrap', 'setpriv', 'unshare', 'mount'] as const;
  const found: Partial<HostTools> = {};
  const missing: string[] = [];
  for (const name of names) {
    const path = findTool(name);
    if (path) found[name] = path;
    else missing.push(name);
  }
  if (missing.length > 0) return { available: false, reason: `missing tools: ${missing.join(', ')}` };
  const noCgroup = CGROUP_CONTROLLERS.filter((c) => !existsSync(join(CGROUP_ROOT, c, 'cgroup.procs')));
  if (noCgroup.length > 0) return { available: false, reason: `cgroup v1 controllers not mounted: ${noCgroup.join(', ')}` };
  const tools = found as HostTools;
  return { available: true, tools, bwrapTmpfsSize: bwrapHasTmpfsSize(tools.bwrap) };
}

/** `--size` before `--tmpfs` arrived in bubblewrap 0.8; older ones get an unlimited tmp. */
function bwrapHasTmpfsSize(bwrap: string): boolean {
  try {
    const out = execFileSync(bwrap, ['--version'], { encoding: 'utf8', timeout: 5000 });
    const m = /(\d+)\.(\d+)/.exec(out);
    return m !== null && (Number(m[1]) > 0 || Number(m[2]) >= 8);
  } catch {
    return false;
  }
}
