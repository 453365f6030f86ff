import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';

/**
 * Creates `dir` when missing and insists it is empty: writing a source over another one would
 * mix the two, and removing what was there on failure would destroy someone else's files.
 */
export async function prepareEmptyDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if ((await readdir(dir)).length > 0) {
    throw new SlipwayError('internal_error', `extraction target ${dir} is not empty`);
  }
}

/** Removes everything inside `dir` (but not `dir`), after a failed write into it. */
export async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    await rm(join(dir, name), { recursive: true, force: true });
  }
}
