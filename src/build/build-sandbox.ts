/**
 * The namespace sandbox of build steps. A build runs the user's code (their build script, their
 * dependencies' install scripts), so besides running as its own unprivileged uid it gets its
 * own mount, pid, ipc and uts namespaces (bubblewrap): the host's file system read-only, its
 * work directory the only writable place besides a private `/tmp`, and the state directory (keys,
 * database, blobs, other builds) and `/root` replaced by empty directories. The network stays
 * shared: installs need the package registries.
 */

/** Where and what to hide; chosen once at start-up. */
export interface BuildSandbox {
  /** The bubblewrap binary. */
  bwrap: string;
  /** Directories replaced by an empty tmpfs inside the sandbox (the state directory, `/root`). */
  hide: string[];
}

/**
 * The argv that runs `argv` inside the sandbox with `writable` (the build's work directory)
 * bound read-write at the same path, working directory `cwd`. Nothing of `argv` is
 * interpreted: it follows `--` as separate elements.
 */
export function sandboxedArgv(sandbox: BuildSandbox, opts: { cwd: string; writable: string }, argv: readonly string[]): string[] {
  return [
    sandbox.bwrap,
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
    '--tmpfs', '/tmp',
    ...sandbox.hide.flatMap((dir) => ['--tmpfs', dir]),
    '--bind', opts.writable, opts.writable,
    '--chdir', opts.cwd,
    '--',
    ...argv,
  ];
}
