/**
 * What a Slipway-owned dockerd leaves on the host when it stops badly (killed, or killed while
 * containers ran): mounts under its data-root, cgroups under its cgroup parent, containerd shims.
 * A clean dockerd shutdown removes most of them; the cgroup parent it never removes. Finding
 * them reads only `/proc/self/mountinfo`, `/proc/self/cgroup` and `/proc/<pid>/cmdline`.
 */
import { readFileSync, rmdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeReaddir } from '../../util/host-cleanup.js';
import { waitFor } from '../../util/wait-for.js';

/** Mount points at or under `root`, deepest first (the order to unmount them in). */
export function mountsUnder(mountinfo: string, root: string): string[] {
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const points = mountinfo
    .split('\n')
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''))
    .filter((point) => point === root || point.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The directories a cgroup named `parent` (relative, as given to dockerd's `--cgroup-parent`)
 * occupies: dockerd's cgroupfs driver puts it under dockerd's own cgroup in every hierarchy,
 * which is not always the root (here the memory hierarchy nests every process under
 * `/process_api/<id>`), and BuildKit puts its own at the root. `procCgroup` is `/proc/self/cgroup` (dockerd inherits ours) and
 * `mountinfo` says where each hierarchy is mounted.
 */
export function cgroupDirsFor(procCgroup: string, mountinfo: string, parent: string): string[] {
  const mounts: { point: string; controllers: string[]; v2: boolean }[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (left === undefined || right === undefined) continue;
    const [fsType, , superOptions = ''] = right.split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const point = unescapeMountPath(left.split(' ')[4] ?? '');
    mounts.push({ point, controllers: superOptions.split(','), v2: fsType === 'cgroup2' });
  }
  const dirs: string[] = [];
  for (const line of procCgroup.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllerList = '', own = '/'] = match;
    const wanted = controllerList.split(',').filter((c) => c !== '');
    const mount =
      id === '0' && wanted.length === 0
        ? mounts.find((m) => m.v2)
        : mounts.find((m) => !m.v2 && wanted.every((c) => m.controllers.includes(c)));
    // Containers' cgroups go under dockerd's own cgroup; BuildKit's (`<parent>/buildkit`) go
    // under the hierarchy's root whatever dockerd's cgroup is. Both carry the parent's name.
    if (mount) dirs.push(join(mount.point, own, parent), join(mount.point, parent));
  }
  return [...new Set(dirs)];
}

// How long a cgroup's processes get to die after SIGKILL before its removal is given up on.
const CGROUP_EMPTY_TIMEOUT_MS = 5_000;

/**
 * Removes a cgroup directory tree, children first; cgroup files cannot be unlinked, only dirs.
 * A cgroup that still holds processes (a container a killed dockerd left running) cannot be
 * removed (`EBUSY`): they are thawed and killed, and the removal retried once they are gone.
 * Returns the directories it could not remove, with why, instead of throwing, so the rest of
 * an engine's cleanup still runs.
 */
export async function removeCgroupTree(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const left: string[] = [];
  for (const name of entries) {
    const child = join(dir, name);
    let isDir = false;
    try {
      isDir = statSync(child).isDirectory();
    } catch {
      // Vanished meanwhile: nothing to remove.
    }
    if (isDir) left.push(...(await removeCgroupTree(child)));
  }
  if (left.length > 0) return [...left, `${dir}: a child cgroup is left`];
  try {
    rmdirSync(dir);
    return [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return [];
    if (code !== 'EBUSY') return [`${dir}: ${code ?? String(err)}`];
  }
  const gone = await killCgroupProcesses(dir);
  try {
    rmdirSync(dir);
    return [];
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? [] : [`${dir}: ${code ?? String(err)}${gone ? '' : ', its processes did not die'}`];
  }
}

/** Kills every process in the cgroup `dir` (thawed first: a frozen one never dies); true once it is empty. */
async function killCgroupProcesses(dir: string): Promise<boolean> {
  writeIfPresent(join(dir, 'freezer.state'), 'THAWED');
  writeIfPresent(join(dir, 'cgroup.freeze'), '0');
  const pids = (): number[] => {
    try {
      return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((l) => l !== '').map(Number);
    } catch {
      return [];
    }
  };
  for (const pid of pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Exited meanwhile.
    }
  }
  try {
    await waitFor(() => pids().length === 0, { timeoutMs: CGROUP_EMPTY_TIMEOUT_MS, intervalMs: 50, description: `cgroup ${dir} to empty` });
    return true;
  } catch {
    return false;
  }
}

function writeIfPresent(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {
    // Not this hierarchy's (or not this kernel's) control file.
  }
}

/**
 * Removes the cgroup parent's directories in every hierarchy (see {@link cgroupDirsFor});
 * returns what could not be removed.
 */
export async function removeEngineCgroups(parent: string): Promise<string[]> {
  const dirs = cgroupDirsFor(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'), parent);
  const left: string[] = [];
  for (const dir of dirs) left.push(...(await removeCgroupTree(dir)));
  return left;
}

/** Pids of processes whose command line mentions `needle` (a shim naming the engine's socket). */
export function pidsMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) pids.push(Number(name));
    } catch {
      // Exited meanwhile.
    }
  }
  return pids;
}
