import { createHash } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { homePaths } from './config.js';

/**
 * Creates the state directory with permissions that let unprivileged build users reach only
 * their own work tree: the home and `work/` are traversable but not listable (0711); keys,
 * the database, blobs, uploads and logs stay private to Slipway (0700 / 0600).
 */
export async function prepareHome(home: string): Promise<void> {
  const paths = homePaths(home);
  await mkdir(home, { recursive: true });
  await chmod(home, 0o711);
  await mkdir(paths.work, { recursive: true });
  await chmod(paths.work, 0o711);
  for (const dir of [paths.db, paths.blobs, paths.uploads, paths.buildLogs, paths.edge]) {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o700);
  }
}

/**
 * Where builds run. Normally `work/` in the home; but build users must be able to walk down to
 * it, and a home inside a closed folder (root's default `/root/.slipway`, `/root` being 0700)
 * would lock them out. Then the work trees go to `/var/tmp/slipway-work-<hash of the home>`
 * (0711, root's), which builds can reach and, in their sandbox, see only their own tree of:
 * the sandbox puts an empty `/var/tmp` over the host's (so no other home's trees either) and
 * binds only the build's own tree back.
 */
export async function buildWorkDir(home: string, buildUsers: boolean): Promise<string> {
  const own = homePaths(home).work;
  if (!buildUsers || (await reachableByOthers(dirname(own)))) return own;
  const dir = join('/var/tmp', `slipway-work-${createHash('sha256').update(home).digest('hex').slice(0, 12)}`);
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o711);
  return dir;
}

/** True when every folder from `/` down to `dir` lets others through (o+x). */
async function reachableByOthers(dir: string): Promise<boolean> {
  for (let d = dir; ; d = dirname(d)) {
    const s = await stat(d).catch(() => null);
    if (!s || (s.mode & 0o001) === 0) return false;
    if (d === dirname(d)) return true;
  }
}
