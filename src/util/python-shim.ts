import { constants, accessSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where `python` appears on the `PATH` of builds and instances: a neutral folder, never the
 * path of Slipway's checkout (that would tell an app where the platform lives). In an
 * instance's sandbox it is a symlink bubblewrap makes (`sandbox-argv.ts`); a process that runs
 * on the host itself has the folder mapped back to {@link HOST_PYTHON_SHIM_DIR} by
 * {@link hostPath}; a build gets its own link in its work tree (`build-steps.ts`).
 */
export const PYTHON_SHIM_DIR = '/opt/python-shim';

/**
 * The folder of Slipway's package holding the real shim, `python`, which runs `python3` (the
 * same for `src/` and the built `dist/`, both two levels below the package root).
 */
export const HOST_PYTHON_SHIM_DIR = fileURLToPath(new URL('../../share/python-shim', import.meta.url));

/** A `PATH` for a process that runs unsandboxed on the host: the neutral shim folder becomes the package's. */
export function hostPath(path: string): string {
  return path.split(':').map((dir) => (dir === PYTHON_SHIM_DIR ? HOST_PYTHON_SHIM_DIR : dir)).join(':');
}

/** The system folders builds and instances find their runtimes in. */
export const SYSTEM_PATH_DIRS: readonly string[] = ['/usr/local/bin', '/usr/bin', '/bin'];

/**
 * The absolute `python3` that `python` should mean on this host, or null when the shim is not
 * wanted: the host already has a `python` in `dirs` (its own wins, whatever version it is), or
 * has no `python3` either. Many apps start with `python main.py`, and Debian and Ubuntu ship
 * only `python3`.
 */
export function pythonShimTarget(dirs: readonly string[] = SYSTEM_PATH_DIRS): string | null {
  if (findIn(dirs, 'python')) return null;
  return findIn(dirs, 'python3');
}

/** `dirs` joined as a `PATH`, with {@link PYTHON_SHIM_DIR} last when {@link pythonShimTarget} wants it. */
export function withPythonShim(dirs: readonly string[], target: string | null = pythonShimTarget(dirs)): string {
  return (target ? [...dirs, PYTHON_SHIM_DIR] : dirs).join(':');
}

function findIn(dirs: readonly string[], name: string): string | null {
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return null;
}
