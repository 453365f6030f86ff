import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Finds `name` the way a shell's `which` would, without running one: the first regular,
 * executable file called `name` in the directories of `pathEnv` (a `PATH` value; default the
 * server's own). Empty and relative entries are ignored, since a build's working directory is
 * not where its tools come from. Returns the absolute path, or null.
 */
export async function findExecutable(name: string, pathEnv: string = process.env.PATH ?? ''): Promise<string | null> {
  if (name === '' || name.includes('/')) return null;
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    const st = await stat(candidate).catch(() => null);
    if (!st?.isFile()) continue;
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return null;
}
