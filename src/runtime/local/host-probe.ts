/**
 * What this host offers the local driver, found once at driver creation: root, the sandbox and
 * network tools, bubblewrap's version and which cgroup version can limit instances. The driver
 * turns the answer into capability flags, so nothing else asks "are we root?" again.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_CONTROLLERS, type CgroupVersion } from './cgroups.js';

/** Absolute paths of the programs the isolated mode runs. */
export interface HostTools {
  ip: string;
  nft: string;
  bwrap: string;
  setpriv: string;
  unshare: string;
  mount: string;
}

/** The programs the isolated mode needs, by their {@link HostTools} names. */
export const HOST_TOOL_NAMES = ['ip', 'nft', 'bwrap', 'setpriv', 'unshare', 'mount'] as const;

/** Where the cgroup filesystem is mounted unless SLIPWAY_CGROUP_ROOT says otherwise. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** Which cgroup version limits instances, or why none can. */
export type CgroupProbe =
  | { version: CgroupVersion; root: string }
  | { version: 'none'; root: string; reason: string };

/** The outcome of {@link probeIsolation}. */
export type IsolationProbe =
  | { available: true; tools: HostTools; bwrapTmpfsSize: boolean; cgroup: CgroupProbe }
  | { available: false; reason: string; root: boolean };

/** Options of {@link probeIsolation}; the defaults inspect the real host. */
export interface ProbeOptions {
  /** Where the cgroup filesystem is (default {@link DEFAULT_CGROUP_ROOT}). */
  cgroupRoot?: string;
  /** The effective uid (default this process's). */
  uid?: number;
  /** Finds a program by name (default {@link findTool}). */
  findTool?: (name: string) => string | null;
}

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
 * for tests that must skip with a reason). Root and the tools decide isolation; the cgroups
 * only decide whether limits are enforced, never whether the sandbox is used.
 */
export function probeIsolation(options: ProbeOptions = {}): IsolationProbe {
  const root = (options.uid ?? process.getuid?.()) === 0;
  if (!root) return { available: false, reason: 'not running as root', root };
  const find = options.findTool ?? findTool;
  const found: Partial<HostTools> = {};
  const missing: string[] = [];
  for (const name of HOST_TOOL_NAMES) {
    const path = find(name);
    if (path) found[name] = path;
    else missing.push(name);
  }
  if (missing.length > 0) return { available: false, reason: `missing tools: ${missing.join(', ')}`, root };
  const tools = found as HostTools;
  return { available: true, tools, bwrapTmpfsSize: bwrapHasTmpfsSize(tools.bwrap), cgroup: probeCgroups(options.cgroupRoot ?? DEFAULT_CGROUP_ROOT) };
}

/**
 * The cgroup version to limit instances with: v1 when its memory, pids and cpu hierarchies are
 * mounted under `root`; else v2 when `root` is a unified hierarchy offering those controllers
 * to a subtree Slipway may write; else none, with the reason.
 */
export function probeCgroups(root: string): CgroupProbe {
  const v1Missing = CGROUP_CONTROLLERS.filter((c) => !existsSync(join(root, c, 'cgroup.procs')));
  if (v1Missing.length === 0) return { version: 'v1', root };
  const controllers = readWords(join(root, 'cgroup.controllers'));
  if (controllers === null) {
    const v1 = v1Missing.length < CGROUP_CONTROLLERS.length ? `cgroup v1 controllers not mounted: ${v1Missing.join(', ')}` : 'no cgroup v1 controllers';
    return { version: 'none', root, reason: `${v1} and no cgroup v2 hierarchy at ${root}` };
  }
  const v2Missing = CGROUP_CONTROLLERS.filter((c) => !controllers.has(c));
  if (v2Missing.length > 0) {
    return { version: 'none', root, reason: `cgroup v2 at ${root} does not offer the ${v2Missing.join(', ')} controller(s)` };
  }
  if (!writable(join(root, 'cgroup.subtree_control'))) {
    return { version: 'none', root, reason: `cgroup v2 at ${root} cannot be delegated to Slipway (cgroup.subtree_control is not writable)` };
  }
  return { version: 'v2', root };
}

function readWords(file: string): Set<string> | null {
  try {
    return new Set(readFileSync(file, 'utf8').split(/\s+/).filter(Boolean));
  } catch {
    return null;
  }
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** `--size` before `--tmpfs` arrived in bubblewrap 0.8; older ones get an unlimited tmp. */
export function bwrapHasTmpfsSize(bwrap: string): boolean {
  const version = bwrapVersion(bwrap);
  const m = version === null ? null : /(\d+)\.(\d+)/.exec(version);
  return m !== null && (Number(m[1]) > 0 || Number(m[2]) >= 8);
}

/** `bubblewrap x.y.z` as the program prints it, or null when it cannot be run. */
export function bwrapVersion(bwrap: string): string | null {
  try {
    return execFileSync(bwrap, ['--version'], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    return null;
  }
}
