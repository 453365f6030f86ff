import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes whatever an earlier server left in the uploads scratch folder: a crash mid-upload
 * leaves a half-written tree there that nothing else would ever remove. Only call it while
 * holding the home's server lock (`pid-lock.ts`): then no other server can be using the folder.
 * Returns how many entries were removed.
 */
export async function sweepUploadDir(dir: string): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const names = await readdir(dir);
  for (const name of names) await rm(join(dir, name), { recursive: true, force: true });
  return names.length;
}
