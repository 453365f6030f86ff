/**
 * The per-instance control groups of the isolated mode, behind one shape so the engine does not
 * care which cgroup version the host has. Implementations: `cgroup-v1.ts` (one hierarchy per
 * controller) and `cgroup-v2.ts` (the unified hierarchy, a delegated subtree). The host probe
 * picks one; with neither, instances still run sandboxed but without limits (no `Cgroups`).
 */
import type { ResourceSpec } from '../../core/runtime.js';

/** The cgroup versions the local driver can limit instances with. */
export const CGROUP_VERSIONS = ['v1', 'v2'] as const;
export type CgroupVersion = (typeof CGROUP_VERSIONS)[number];

/** The controllers the driver limits instances with (v1: one mount each; v2: enabled in the subtree). */
export const CGROUP_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
export type CgroupController = (typeof CGROUP_CONTROLLERS)[number];

/** The cgroup directories of one instance (persisted in its handle). */
export type CgroupDirs = readonly string[];

/** One platform's (one runtime label's) instance groups on this host. */
export interface Cgroups {
  readonly version: CgroupVersion;
  /** Creates the label's parent groups (and, for v2, enables the controllers down to them); idempotent. */
  prepare(): Promise<void>;
  /** The directories of instance `id` (not created). */
  instanceDirs(id: string): CgroupDirs;
  /** Creates the groups of one instance and writes its limits. */
  create(dirs: CgroupDirs, resources: ResourceSpec): Promise<void>;
  /** The `cgroup.procs` files a starting process writes its pid to, before anything else runs. */
  procsFiles(dirs: CgroupDirs): string[];
  /**
   * Pids of every process of the instance: whatever it forks, setsid or daemonises stays
   * listed. Synchronous and cheap (called every ~100 ms); a missing group holds none.
   */
  members(dirs: CgroupDirs): number[];
  /** Sends `signal` to every member except those in `spare`; a vanished one is not an error. */
  signal(dirs: CgroupDirs, signal: NodeJS.Signals, spare?: ReadonlySet<number>): void;
  /** SIGKILLs every member until none is left; false when some survived `timeoutMs`. */
  killAll(dirs: CgroupDirs, timeoutMs?: number): Promise<boolean>;
  /** True when the kernel's OOM killer killed something of the instance. */
  oomKilled(dirs: CgroupDirs): Promise<boolean>;
  /** Removes the (empty) groups; idempotent. */
  remove(dirs: CgroupDirs): Promise<void>;
  /** Instance groups of this label that exist, whatever the handles say (for a full sweep). */
  labelled(): string[][];
  /** Removes the label's parent groups, and the shared `slipway` group when no one else uses it. */
  destroy(): Promise<void>;
}
