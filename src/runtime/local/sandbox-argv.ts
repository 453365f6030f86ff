/**
 * The argument vector that turns one process into an isolated instance. Each stage execs the
 * next, so the pid the driver spawned is, in the end, bubblewrap's monitor inside the
 * instance's network namespace:
 *
 * 1. `unshare --mount --propagation slave`: a private mount namespace for the next step.
 * 2. `/bin/sh -c <constant script>` (still root): writes its own pid into the instance's
 *    cgroups, so limits hold before anything of the app runs, then bind-mounts the app
 *    directory on a fixed, world-traversable mount point in that private namespace. This is
 *    what lets an unprivileged bwrap reach a release under, say, `/root/.slipway` (0700)
 *    without opening those folders to every user of the host. `/sys` must still be the host's
 *    here, which is why this comes before `ip netns exec` (it remounts `/sys`).
 * 3. `ip netns exec <ns>`: joins the instance's network namespace.
 * 4. `setpriv`: becomes the instance's uid with no groups and no capabilities. Root is dropped
 *    here, before bwrap: bwrap started as root would hand the app root's capabilities.
 * 5. `bwrap`: new user, pid, ipc, uts and cgroup namespaces; a root of read-only system
 *    folders, the app at `/app`, a private `/tmp` (instance-scratch.ts). No
 *    `--die-with-parent`: instances outlive the agent, which re-adopts them.
 * 6. `/bin/sh -c <run command>`: the user's command, as one argument, never spliced.
 *
 * The app's environment travels to bwrap through a pipe (`--args 3`) and is applied after
 * `--clearenv`: the root stages run with a fixed environment (a deployment variable such as
 * `LD_PRELOAD` never reaches a root process), and secrets stay out of the host's `ps`.
 */
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PYTHON_SHIM_DIR, pythonShimTarget } from '../../util/python-shim.js';
import type { HostTools } from './host-probe.js';

/** Where the app appears inside the sandbox. */
export const SANDBOX_APP_DIR = '/app';

// Constant: the only inputs are positional parameters, so nothing a user controls is ever
// parsed as shell code here. "$1" stays the mount program, a fixed path from the host probe.
// `cd /` and `unset PWD OLDPWD`: the shell exports the directory it was started in (the
// server's) as PWD, and bwrap's --clearenv keeps PWD, so it would reach the instance's init.
const ENTER_SCRIPT = [
  'set -e',
  'cd /',
  'unset PWD OLDPWD',
  'while [ "$1" != -- ]; do echo $$ > "$1"; shift; done',
  'shift',
  '"$1" --bind -- "$2" "$3"',
  '"$1" -o remount,bind,ro -- "$3"',
  'shift 3',
  'exec "$@"',
].join('\n');

/** The environment of the root stages: fixed, never the app's. */
export const WRAPPER_ENV: Readonly<Record<string, string>> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** Everything {@link sandboxArgv} needs for one instance. */
export interface SandboxArgvInput {
  tools: HostTools;
  /** `cgroup.procs` files to enter, before anything else runs. */
  cgroupProcs: readonly string[];
  /** The release tree on the host. */
  appDir: string;
  /** A root-owned, world-traversable empty folder the app is mounted on privately. */
  mountPoint: string;
  ns: string;
  uid: number;
  /** What the instance gets as `/tmp`. */
  tmp: SandboxTmp;
  hostname: string;
  runCommand: string;
  /** Bind and symlink arguments of the sandbox's root ({@link systemRootArgs}). */
  rootArgs: readonly string[];
}

/** The argv to spawn (with fd 3 a pipe carrying {@link envArgs}, and env {@link WRAPPER_ENV}). */
export function sandboxArgv(input: SandboxArgvInput): string[] {
  const { tools } = input;
  return [
    tools.unshare, '--mount', '--propagation', 'slave', '--',
    '/bin/sh', '-c', ENTER_SCRIPT, 'slipway-enter', ...input.cgroupProcs, '--',
    tools.mount, input.appDir, input.mountPoint,
    tools.ip, 'netns', 'exec', input.ns,
    tools.setpriv, `--reuid=${input.uid}`, `--regid=${input.uid}`, '--clear-groups',
    '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--',
    tools.bwrap,
    '--unshare-user', '--disable-userns', '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--new-session', '--clearenv', '--args', '3',
    ...input.rootArgs,
    '--ro-bind', input.mountPoint, SANDBOX_APP_DIR, '--chdir', SANDBOX_APP_DIR,
    '--proc', '/proc', '--dev', '/dev',
    ...tmpArgs(input.tmp),
    '--hostname', input.hostname,
    '--', '/bin/sh', '-c', input.runCommand,
  ];
}

/**
 * An instance's `/tmp`: its scratch filesystem (a host folder owned by its uid, bound in), or,
 * on hosts that cannot make one, a tmpfs of at most `bytes` (null when bwrap cannot limit it),
 * whose pages count against the instance's memory.
 */
export type SandboxTmp = { kind: 'bind'; hostDir: string } | { kind: 'tmpfs'; bytes: number | null };

function tmpArgs(tmp: SandboxTmp): string[] {
  if (tmp.kind === 'bind') return ['--bind', tmp.hostDir, '/tmp'];
  return [...(tmp.bytes === null ? [] : ['--size', String(tmp.bytes)]), '--tmpfs', '/tmp'];
}

/** The NUL-separated `--setenv` arguments bwrap reads from fd 3. */
export function envArgs(env: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(env)) parts.push('--setenv', k, v);
  return parts.map((p) => `${p}\0`).join('');
}

// What programs commonly read from /etc: TLS roots, name resolution, users, time zone, the
// dynamic loader's cache, Debian's alternatives and Python's site config. Nothing secret
// (no shadow, no ssh, no Slipway files).
const ETC = [
  'ssl', 'ca-certificates', 'resolv.conf', 'hosts', 'host.conf', 'nsswitch.conf', 'gai.conf', 'services',
  'protocols', 'passwd', 'group', 'localtime', 'timezone', 'alternatives', 'ld.so.cache', 'ld.so.conf',
  'ld.so.conf.d', 'mime.types', 'os-release', 'python3', 'python3.11', 'python3.12', 'python3.13',
];

// Top-level folders that are symlinks into /usr on merged-/usr systems (Debian 12).
const TOP = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * The read-only root every instance shares: `/usr`, the top-level program and library folders
 * (as symlinks where the host has symlinks), selected `/etc` files, when Node.js is
 * installed outside `/usr` (nvm, a tarball under /opt), its install folder, and on a host with
 * only `python3` the `python` shim the instance's PATH names.
 */
export function systemRootArgs(pythonShim: string | null = pythonShimTarget()): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const path of TOP) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (st.isDirectory()) args.push('--ro-bind', path, path);
  }
  for (const name of ETC) if (existsSync(`/etc/${name}`)) args.push('--ro-bind', `/etc/${name}`, `/etc/${name}`);
  const nodePrefix = dirname(dirname(realpathSync(process.execPath)));
  if (!['/usr', '/'].some((p) => nodePrefix === p || nodePrefix.startsWith('/usr/'))) {
    args.push('--ro-bind', nodePrefix, nodePrefix);
  }
  // A symlink made by bwrap inside the sandbox, not a bind of the package folder: the instance's
  // uid may not be able to walk to where Slipway is installed (under /root, say).
  if (pythonShim) args.push('--symlink', pythonShim, join(PYTHON_SHIM_DIR, 'python'));
  return args;
}
