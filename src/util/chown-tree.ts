import { lchown, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Gives `dir` and everything under it to `uid:gid`, without following symlinks, so an
 * unprivileged build can write in the tree it was handed and nowhere else.
 */
export async function chownTree(dir: string, owner: { uid: number; gid: number }): Promise<void> {
  await lchown(dir, owner.uid, owner.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, owner);
    else await lchown(path, owner.uid, owner.gid);
  }
}
