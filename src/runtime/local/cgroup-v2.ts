/**
 * cgroup v2: one group per instance, `<root>/slipway/<label>/<id>`, in the unified hierarchy.
 * `slipway/` and `slipway/<label>/` hold no processes of their own, so the "no internal
 * processes" rule lets the memory, pids and cpu controllers be enabled down to the instance
 * groups (`+memory +pids +cpu` in each parent's `cgroup.subtree_control`).
 *
 * Not yet proven on a real v2 kernel: the development host's v2 hierarchy has no controllers,
 * so only the file-writing logic is tested (against a directory that mimics cgroupfs).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { killUntilEmpty, readProcs, removeGroups, removeSharedGroup, signalPids } from './cgroup-fs.js';
import { CGROUP_CONTROLLERS, type CgroupDirs, type Cgroups } from './cgroups.js';

/** `+memory +pids +cpu`: what each parent writes to its `cgroup.subtree_control`. */
const ENABLE = CGROUP_CONTROLLERS.map((c) => `+${c}`).join(' ');

/** {@link Cgroups} on the v2 hierarchy mounted at `root` (normally `/sys/fs/cgroup`). */
export function createCgroupsV2(root: string, label: string): Cgroups {
  const shared = join(root, 'slipway');
  const labelDir = join(shared, label);
  const dirOf = (dirs: CgroupDirs): string | undefined => dirs[0];
  const members = (dirs: CgroupDirs): number[] => {
    const dir = dirOf(dirs);
    return dir === undefined ? [] : readProcs(dir);
  };

  return {
    version: 'v2',
    async prepare() {
      // Each level must enable the controllers for its children before they can be used below.
      await enableControllers(root);
      await mkdir(shared, { recursive: true });
      await enableControllers(shared);
      await mkdir(labelDir, { recursive: true });
      await enableControllers(labelDir);
    },
    instanceDirs: (id) => [join(labelDir, id)],
    async create(dirs, resources) {
      const dir = dirOf(dirs);
      if (dir === undefined) return;
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'memory.max'), String(Math.max(1, resources.memory_mb) * 1024 * 1024));
      // Otherwise a host with swap pages the instance out instead of killing it at its limit.
      // The file is absent when the kernel does no swap accounting (then there is none to stop).
      if (existsSync(join(dir, 'memory.swap.max'))) await writeFile(join(dir, 'memory.swap.max'), '0');
      await writeFile(join(dir, 'pids.max'), String(Math.max(1, resources.pids_max)));
      // "<quota> <period>" in µs: 1000 millis = one core = the whole period; the floor is 1 ms.
      await writeFile(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(resources.cpu_millis * 100))} 100000`);
    },
    procsFiles: (dirs) => dirs.map((d) => join(d, 'cgroup.procs')),
    members,
    signal(dirs, signal, spare) {
      signalPids(members(dirs), signal, spare);
    },
    async killAll(dirs, timeoutMs = 5000) {
      const dir = dirOf(dirs);
      if (dir === undefined) return true;
      // cgroup.kill (Linux 5.14) kills the whole group at once, forks racing included; older
      // kernels fall back to killing pid by pid until the group is empty.
      const kill = join(dir, 'cgroup.kill');
      if (existsSync(kill)) await writeFile(kill, '1');
      return killUntilEmpty(() => members(dirs), timeoutMs);
    },
    async oomKilled(dirs) {
      const dir = dirOf(dirs);
      if (dir === undefined) return false;
      const events = await readFile(join(dir, 'memory.events'), 'utf8').catch(() => null);
      const m = events === null ? null : /^oom_kill (\d+)$/m.exec(events);
      return m !== null && Number(m[1]) > 0;
    },
    remove: (dirs) => removeGroups(dirs),
    labelled() {
      try {
        return readdirSync(labelDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => [join(labelDir, e.name)]);
      } catch {
        return [];
      }
    },
    async destroy() {
      await removeGroups([labelDir]);
      await removeSharedGroup(shared);
    },
  };
}

/** Enables the three controllers for `dir`'s children, unless they already are. */
async function enableControllers(dir: string): Promise<void> {
  const file = join(dir, 'cgroup.subtree_control');
  const enabled = new Set(readFirstLine(file).split(' ').filter(Boolean));
  if (CGROUP_CONTROLLERS.every((c) => enabled.has(c))) return;
  await writeFile(file, ENABLE);
}

function readFirstLine(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[0] ?? '';
  } catch {
    return '';
  }
}
