import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/**
 * Writes `data` to `path` so that readers see either the old file or the whole new one, never
 * a torn write: the bytes go to a temp file in the same directory, are flushed, then renamed
 * over the target (rename is atomic within one filesystem). `mode` is the new file's (default 0644).
 */
export async function writeFileAtomic(path: string, data: Buffer | string, mode = 0o644): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  // Created with its final mode: a file holding keys is never readable by others, not even briefly.
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(data);
    // Without the flush a crash after rename can leave an empty file under the final name.
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
