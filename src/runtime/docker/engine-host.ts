/**
 * What a Slipway-owned dockerd leaves on the host when it stops badly (killed, or killed while
 * containers ran): mounts under its data-root, cgroups under its cgroup parent, containerd shims.
 * A clean dockerd shutdown removes most of them; the cgroup parent it never removes. Finding
 * them reads only `/proc/self/mountinfo`, `/proc/self/cgroup` and `/proc/<pid>/cmdline`.
 */
import { readFileSync, rmdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { safeReaddir } from '../../util/host-cleanup.js';

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

/** Removes a cgroup directory tree, children first; cgroup files cannot be unlinked, only dirs. */
export function removeCgroupTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    const child = join(dir, name);
    try {
      if (statSync(child).isDirectory()) removeCgroupTree(child);
    } catch {
      // Vanished meanwhile: nothing to remove.
    }
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Removes the cgroup parent's directories in every hierarchy (see {@link cgroupDirsFor}). */
export function removeEngineCgroups(parent: string): void {
  const dirs = cgroupDirsFor(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'), parent);
  for (const dir of dirs) removeCgroupTree(dir);
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
