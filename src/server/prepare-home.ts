import { chmod, mkdir } from 'node:fs/promises';
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
