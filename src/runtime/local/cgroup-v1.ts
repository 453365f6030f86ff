/**
 * cgroup v1: per-instance groups `<root>/<controller>/slipway/<label>/<id>` in the memory, pids
 * and cpu hierarchies. The groups also name the instance's processes: whatever it forks, setsid
 * or daemonises stays listed, which is what stop and cleanup rely on.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killUntilEmpty, readProcs, removeGroups, removeSharedGroup, signalPids } from './cgroup-fs.js';
import { CGROUP_CONTROLLERS, type CgroupDirs, type Cgroups } from './cgroups.js';

/** {@link Cgroups} on the v1 hierarchies mounted under `root` (normally `/sys/fs/cgroup`). */
export function createCgroupsV1(root: string, label: string): Cgroups {
  const labelDir = (controller: string): string => join(root, controller, 'slipway', label);
  const instanceDirs = (id: string): CgroupDirs => CGROUP_CONTROLLERS.map((c) => join(labelDir(c), id));
  // The pids group is authoritative for membership; the three list the same processes.
  const pidsDir = (dirs: CgroupDirs): string | undefined => dirs.find((d) => d.startsWith(`${join(root, 'pids')}/`));
  const members = (dirs: CgroupDirs): number[] => {
    const dir = pidsDir(dirs);
    return dir === undefined ? [] : readProcs(dir);
  };

  return {
    version: 'v1',
    async prepare() {
      for (const c of CGROUP_CONTROLLERS) await mkdir(labelDir(c), { recursive: true });
    },
    instanceDirs,
    async create(dirs, resources) {
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
    },
    procsFiles: (dirs) => dirs.map((d) => join(d, 'cgroup.procs')),
    members,
    signal(dirs, signal, spare) {
      signalPids([...new Set(dirs.flatMap(readProcs))], signal, spare);
    },
    killAll: (dirs, timeoutMs = 5000) => killUntilEmpty(() => [...new Set(dirs.flatMap(readProcs))], timeoutMs),
    /**
     * `oom_kill` in `memory.oom_control` exists since Linux 4.13; before it, hitting the limit
     * (`failcnt`) is the best sign there is, and may over-report.
     */
    async oomKilled(dirs) {
      const memory = dirs.find((d) => d.startsWith(`${join(root, 'memory')}/`));
      if (!memory) return false;
      const control = await readFile(join(memory, 'memory.oom_control'), 'utf8').catch(() => null);
      if (control === null) return false;
      const m = /^oom_kill (\d+)$/m.exec(control);
      if (m) return Number(m[1]) > 0;
      const failcnt = await readFile(join(memory, 'memory.failcnt'), 'utf8').catch(() => '0');
      return Number(failcnt.trim()) > 0;
    },
    remove: (dirs) => removeGroups(dirs),
    labelled() {
      const ids = new Set<string>();
      for (const c of CGROUP_CONTROLLERS) {
        try {
          for (const e of readdirSync(labelDir(c), { withFileTypes: true })) if (e.isDirectory()) ids.add(e.name);
        } catch {
          // this controller has no groups of ours
        }
      }
      return [...ids].map((id) => [...instanceDirs(id)]);
    },
    async destroy() {
      for (const c of CGROUP_CONTROLLERS) {
        await removeGroups([labelDir(c)]);
        // Another platform on this host may still have groups there.
        await removeSharedGroup(join(root, c, 'slipway'));
      }
    },
  };
}
