/**
 * The namespace sandbox of build steps. A build runs the user's code (their build script, their
 * dependencies' install scripts), so besides running as its own unprivileged uid it gets its
 * own mount, pid, ipc and uts namespaces (bubblewrap): the host's file system read-only (see
 * {@link hostRootArgs} for the trees left out), its work directory the only writable place
 * besides a private `/tmp`, and the state directory (keys, database, blobs), `/root` and
 * `/var/tmp` (where every Slipway home on the host may keep its build trees) replaced by empty
 * directories. With a build network (see `build-network.ts`)
 * it also runs in that build's own network namespace: the internet through NAT, nothing of the
 * host, its instances or other builds.
 */
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Where and what to hide; chosen once at start-up. */
export interface BuildSandbox {
  /** The bubblewrap binary. */
  bwrap: string;
  /** Directories replaced by an empty tmpfs inside the sandbox (the state directory, `/root`, `/var/tmp`). */
  hide: string[];
  /** The read-only host trees, as bubblewrap arguments: {@link hostRootArgs}, read once at start-up. */
  root: readonly string[];
  /**
   * Joining a build's network namespace, which needs root: `nsenter` joins it, `setpriv`
   * drops to the build user, and only then bubblewrap runs. Absent when builds share the
   * host's network (no build network on this host).
   */
  net?: {
    nsenter: string;
    setpriv: string;
    /** A resolv.conf bound over `/etc/resolv.conf`, when the host's names only loopback resolvers. */
    resolvConf?: string;
  };
}

/**
 * Top-level host trees a build does not see. Besides being nobody's business (`/var` holds
 * databases and logs, `/mnt` and `/media` other disks), these are where mounts come and go
 * while builds start: network namespaces under `/run/netns`, instances' scratch and `/tmp`
 * mounts, Docker's overlays under `/var/lib/docker`. bubblewrap binds a tree with all the
 * mounts inside it and then remounts each read-only; one unmounted in between fails the build
 * with "Can't bind mount /oldroot/ on /newroot/" (bubblewrap issue 650, unfixed). `/proc`,
 * `/dev` and `/tmp` are the sandbox's own; `/root` is hidden.
 */
const NOT_BOUND = new Set(['proc', 'dev', 'tmp', 'run', 'var', 'mnt', 'media', 'boot', 'lost+found', 'root']);
/** Left out, but programs expect them to exist: empty and writable (in memory) instead. */
const EMPTY = ['/run', '/var'];

/**
 * The host's file system as a build sees it, as bubblewrap arguments: every top-level folder of
 * `root` but those in {@link NOT_BOUND}, read-only (top-level symlinks such as `/bin -> usr/bin`
 * as symlinks), `/run` and `/var` empty, and the folder of the file `/etc/resolv.conf` points
 * to when that is under `/run` (systemd-resolved's stub), so names still resolve.
 */
export function hostRootArgs(root = '/'): string[] {
  const args: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (NOT_BOUND.has(entry.name)) continue;
    const path = join(root, entry.name);
    const target = `/${entry.name}`;
    if (entry.isSymbolicLink()) args.push('--symlink', readlinkSync(path), target);
    else if (entry.isDirectory()) args.push('--ro-bind', path, target);
  }
  for (const dir of EMPTY) args.push('--tmpfs', dir);
  let resolv: string | undefined;
  try {
    resolv = realpathSync(join(root, 'etc/resolv.conf'));
  } catch {
    // No resolv.conf: nothing to keep reachable.
  }
  const inside = resolv === undefined ? undefined : relative(root, resolv);
  // The folder, not the file: systemd-resolved replaces the file, and a bind keeps the old one.
  if (inside !== undefined && EMPTY.some((dir) => `/${inside}`.startsWith(`${dir}/`))) {
    const dir = dirname(`/${inside}`);
    args.push('--ro-bind', join(root, dir), dir);
  }
  return args;
}

/** Where the sandbox runs one step. */
export interface SandboxPlace {
  cwd: string;
  /** The build's work directory, bound read-write at the same path. */
  writable: string;
  /** The build's network namespace (`/run/netns/<netns>`); requires `net` and `user`. */
  netns?: string;
  /** The build user, switched to by `setpriv` when joining a namespace. */
  user?: { uid: number; gid: number };
}

/** The fixed environment of the root stages (`nsenter`, `setpriv`): never the build's. */
export const ROOT_STAGE_ENV: Readonly<Record<string, string>> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** True when {@link sandboxedArgv} starts as root and takes the environment from fd 3. */
export function joinsNetns(sandbox: BuildSandbox, place: SandboxPlace): boolean {
  return sandbox.net !== undefined && place.netns !== undefined && place.user !== undefined;
}

/**
 * The argv that runs `argv` inside the sandbox. Nothing of `argv` is interpreted: it follows
 * `--` as separate elements. When it joins a network namespace ({@link joinsNetns}) the
 * argv starts as root with {@link ROOT_STAGE_ENV}, so a build variable such as `LD_PRELOAD`
 * never reaches a root process; bubblewrap clears that and applies the build's environment
 * from fd 3 ({@link sandboxEnvArgs}), which keeps build secrets out of the host's `ps`.
 */
export function sandboxedArgv(sandbox: BuildSandbox, place: SandboxPlace, argv: readonly string[]): string[] {
  const join = joinsNetns(sandbox, place) && sandbox.net && place.user
    ? [
        sandbox.net.nsenter, `--net=/run/netns/${place.netns}`, '--',
        sandbox.net.setpriv, `--reuid=${place.user.uid}`, `--regid=${place.user.gid}`, '--clear-groups',
        '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
      ]
    : [];
  const resolv = join.length && sandbox.net?.resolvConf ? ['--ro-bind', sandbox.net.resolvConf, '/etc/resolv.conf'] : [];
  return [
    ...join,
    sandbox.bwrap,
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent',
    ...(join.length ? ['--clearenv', '--args', '3'] : []),
    ...sandbox.root,
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    ...sandbox.hide.flatMap((dir) => ['--tmpfs', dir]),
    ...resolv,
    '--bind', place.writable, place.writable,
    '--chdir', place.cwd,
    '--',
    ...argv,
  ];
}

/** The NUL-separated `--setenv` arguments bubblewrap reads from fd 3. */
export function sandboxEnvArgs(env: Record<string, string>): string {
  return Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]).map((p) => `${p}\0`).join('');
}
