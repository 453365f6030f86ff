/**
 * Where a remapped engine's data-root really lives. dockerd refuses to start remapped unless
 * its remapped root can walk down to the data-root, and root's default home `/root/.slipway`
 * sits in a folder closed to others (`/root`, 0700). Then, as build work trees move to
 * `/var/tmp` for the same reason (src/server/prepare-home.ts), the data-root moves to
 * `/var/lib/slipway-docker/<hash of the state folder>` and `<state>/data` becomes a symlink to
 * it: dockerd resolves the link (and checks the real path's folders), while everything that
 * finds the engine by its arguments still sees `--data-root=<state>/data`.
 */
import { createHash } from 'node:crypto';
import { lstatSync, realpathSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The folder relocated data-roots go under (each `0711`, root's). */
export const RELOCATED_DATA_ROOTS = '/var/lib/slipway-docker';

/** The relocated data-root of the engine whose state folder is `stateDir`, under `base`. */
export function relocatedDataRoot(stateDir: string, base = RELOCATED_DATA_ROOTS): string {
  return join(base, createHash('sha256').update(stateDir).digest('hex').slice(0, 12));
}

/**
 * Makes `dataRoot` a symlink to `target` (created 0711). A data-root folder already there is
 * removed when empty, else kept beside as `data-unremapped` (an engine's images from before
 * remapping, which a remapped engine would not see anyway).
 */
export async function linkDataRoot(dataRoot: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true, mode: 0o711 });
  await chmod(dirname(target), 0o711);
  await chmod(target, 0o711);
  const current = await lstat(dataRoot).catch(() => null);
  if (current?.isSymbolicLink()) {
    if ((await readlink(dataRoot)) === target) return;
    await unlink(dataRoot);
  } else if (current?.isDirectory()) {
    if ((await readdir(dataRoot)).length === 0) await rmdir(dataRoot);
    else await rename(dataRoot, `${dataRoot}-unremapped`);
  }
  await symlink(target, dataRoot);
}

/** The real folder behind `dataRoot` when it is a symlink (a relocated data-root), else null. */
export function dataRootTarget(dataRoot: string): string | null {
  try {
    return lstatSync(dataRoot).isSymbolicLink() ? realpathSync(dataRoot) : null;
  } catch {
    return null;
  }
}
