/**
 * Per-instance cgroup v1 groups (memory, pids, cpu) under
 * `/sys/fs/cgroup/<controller>/slipway/<label>/<id>`. This host's cgroup v2 has no controllers,
 * so v1 is what enforces limits. The groups also name the instance's processes: whatever it
 * forks, setsid or daemonises stays listed here, which is what stop and cleanup rely on.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResourceSpec } from '../../core/runtime.js';
import { CGROUP_CONTROLLERS, CGROUP_ROOT } from './host-probe.js';

/** The cgroup directories of one instance, one per controller (persisted in its handle). */
export type CgroupDirs = readonly string[];

/** Parent of every instance group of `label` in one controller. */
export function labelCgroupDir(controller: string, label: string): string {
  return join(CGROUP_ROOT, controller, 'slipway', label);
}

/** The directories of instance `id` of `label` (not created). */
export function instanceCgroupDirs(label: string, id: string): CgroupDirs {
  return CGROUP_CONTROLLERS.map((c) => join(labelCgroupDir(c, label), id));
}

/** Creates the groups of one instance and writes its limits. */
export async function createCgroups(dirs: CgroupDirs, resources: ResourceSpec): Promise<void> {
  for (const dir of dirs) await mkdir(dir, { recursive: true });
  const [memory, pids, cpu] = dirs;
  const bytes = String(Math.max(1, resources.memory_mb) * 1024 * 1024);
  if (memory) {
    await writeFile(join(memory, 'memory.limit_in_bytes'), bytes);
    // Without this the limit only bounds RAM and a host with swap would page instead of
    // killing. It must follow limit_in_bytes: the kernel refuses memsw below the RAM limit.
    const memsw = join(memory, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) await writeFile(memsw, bytes);
  }
  if (pids) await writeFile(join(pids, 'pids.max'), String(Math.max(1, resources.pids_max)));
  if (cpu) {
    await writeFile(join(cpu, 'cpu.cfs_period_us'), '100000');
    // 1000 millis = one core = the whole period; the kernel's floor is 1 ms.
    await writeFile(join(cpu, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(resources.cpu_millis * 100))));
  }
}

/** The `cgroup.procs` files a starting process writes its pid to (all of them, in order). */
export function procsFiles(dirs: CgroupDirs): string[] {
  return dirs.map((d) => join(d, 'cgroup.procs'));
}

/** Pids of every process in any of the groups; a missing group holds none. Synchronous and cheap. */
export function cgroupPids(dirs: CgroupDirs): number[] {
  const pids = new Set<number>();
  for (const dir of dirs) {
    let text = '';
    try {
      text = readFileSync(join(dir, 'cgroup.procs'), 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) if (line) pids.add(Number(line));
  }
  return [...pids];
}

/** Sends `signal` to every process of the groups except those in `spare`; a vanished one is not an error. */
export function signalCgroups(dirs: CgroupDirs, signal: NodeJS.Signals, spare: ReadonlySet<number> = new Set()): void {
  for (const pid of cgroupPids(dirs)) {
    if (spare.has(pid)) continue;
    try {
      process.kill(pid, signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
}

/**
 * SIGKILLs everything in the groups until they are empty. Repeats because a process can fork
 * between the read and the kill; the pids limit keeps that race short.
 */
export async function killAll(dirs: CgroupDirs, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cgroupPids(dirs).length === 0) return true;
    signalCgroups(dirs, 'SIGKILL');
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * True when the kernel's OOM killer killed something in the memory group. `oom_kill` in
 * `memory.oom_control` exists since Linux 4.13; before it, hitting the limit (`failcnt`) is the
 * best sign there is, and may over-report.
 */
export async function oomKilled(dirs: CgroupDirs): Promise<boolean> {
  const memory = dirs.find((d) => d.includes(`${CGROUP_ROOT}/memory/`));
  if (!memory) return false;
  const control = await readFile(join(memory, 'memory.oom_control'), 'utf8').catch(() => null);
  if (control === null) return false;
  const m = /^oom_kill (\d+)$/m.exec(control);
  if (m) return Number(m[1]) > 0;
  const failcnt = await readFile(join(memory, 'memory.failcnt'), 'utf8').catch(() => '0');
  return Number(failcnt.trim()) > 0;
}

/**
 * Removes the groups. A group whose last task is still exiting refuses rmdir with EBUSY for a
 * moment, so that is retried briefly. Idempotent.
 */
export async function removeCgroups(dirs: CgroupDirs, timeoutMs = 3000): Promise<void> {
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

/** Instance groups of `label` that exist, whatever their handles say (for a full sweep). */
export function labelledCgroupDirs(label: string): string[][] {
  const ids = new Set<string>();
  for (const c of CGROUP_CONTROLLERS) {
    try {
      for (const e of readdirSync(labelCgroupDir(c, label), { withFileTypes: true })) if (e.isDirectory()) ids.add(e.name);
    } catch {
      // this controller has no groups of ours
    }
  }
  return [...ids].map((id) => [...instanceCgroupDirs(label, id)]);
}

/** Creates the label's parent groups (idempotent). */
export async function prepareCgroups(label: string): Promise<void> {
  for (const c of CGROUP_CONTROLLERS) await mkdir(labelCgroupDir(c, label), { recursive: true });
}

/**
 * Removes the label's parent groups, and `slipway/` itself when no other platform uses it.
 * Call after every instance group is gone.
 */
export async function destroyLabelCgroups(label: string): Promise<void> {
  for (const c of CGROUP_CONTROLLERS) {
    await removeCgroups([labelCgroupDir(c, label)]);
    await rmdir(join(CGROUP_ROOT, c, 'slipway')).catch((err: NodeJS.ErrnoException) => {
      // Busy or not empty: another platform on this host still has groups there.
      if (!['ENOENT', 'EBUSY', 'ENOTEMPTY', 'EEXIST'].includes(err.code ?? '')) throw err;
    });
  }
}
