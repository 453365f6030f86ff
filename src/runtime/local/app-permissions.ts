/**
 * Makes a release tree readable by instance users. A release is shared by every instance of
 * its version on the host, and each instance has its own uid, so ownership cannot be given to
 * one of them: the tree is made world-readable (and traversable) instead, and group/other
 * write bits are removed. The tree is mounted read-only in the sandbox either way; what the
 * mode bits decide is only whether the instance's uid may read it. Other host users still
 * cannot reach it when a parent folder is closed to them (releases live under the home).
 */
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Adds read (and, for folders and executables, search/execute) for everyone under `dir`. The
 * entries of a folder are handled side by side: one after the other, the lstat of each file of
 * a framework server's release (a thousand or more) was a tenth of a second of its start.
 */
export async function makeTreeReadable(dir: string): Promise<void> {
  const st = await lstat(dir);
  if (st.isSymbolicLink()) return;
  const mode = st.mode & 0o7777;
  const exec = st.isDirectory() || (mode & 0o111) !== 0;
  const wanted = (mode | 0o444 | (exec ? 0o111 : 0)) & ~0o022;
  if (wanted !== mode) await chmod(dir, wanted);
  if (!st.isDirectory()) return;
  await Promise.all((await readdir(dir)).map((entry) => makeTreeReadable(join(dir, entry))));
}
