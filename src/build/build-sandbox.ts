/**
 * The namespace sandbox of build steps. A build runs the user's code (their build script, their
 * dependencies' install scripts), so besides running as its own unprivileged uid it gets its
 * own mount, pid, ipc and uts namespaces (bubblewrap): the host's file system read-only, its
 * work directory the only writable place besides a private `/tmp`, and the state directory (keys,
 * database, blobs), `/root` and `/var/tmp` (where every Slipway home on the host may keep its
 * build trees) replaced by empty directories. With a build network (see `build-network.ts`)
 * it also runs in that build's own network namespace: the internet through NAT, nothing of the
 * host, its instances or other builds.
 */

/** Where and what to hide; chosen once at start-up. */
export interface BuildSandbox {
  /** The bubblewrap binary. */
  bwrap: string;
  /** Directories replaced by an empty tmpfs inside the sandbox (the state directory, `/root`, `/var/tmp`). */
  hide: string[];
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
    '--ro-bind', '/', '/',
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
