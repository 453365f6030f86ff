import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Creates a fresh, private (0700) directory under `parent` (the OS temp dir by default) whose
 * name starts with `prefix`.
 */
export function makeTempDir(prefix = 'slipway-', parent: string = tmpdir()): Promise<string> {
  return mkdtemp(join(parent, prefix));
}

/** Removes a directory tree; a path that is already gone is not an error. */
export async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

/** Runs `fn` with a new temp directory and removes the directory afterwards, even on failure. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await removeDir(dir);
  }
}
