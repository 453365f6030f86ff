import { mkdir, open, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ReadEntry } from 'tar';
import type { TreeEntry } from './tree-checker.js';

/**
 * Writes one entry that {@link TreeChecker} already accepted under `destDir` (null: the root
 * itself, skipped). Files get 0755 or 0644 from the entry's exec bits; nothing existing is ever
 * followed or replaced. The uploads' extractor and the agent's release reader both use it.
 */
export async function writeEntry(destDir: string, entry: ReadEntry, checked: TreeEntry | null): Promise<void> {
  if (!checked || checked.kind === 'dir') {
    if (checked) await mkdir(join(destDir, checked.path), { recursive: true, mode: 0o755 });
    entry.resume();
    return;
  }
  const target = join(destDir, checked.path);
  await mkdir(dirname(target), { recursive: true, mode: 0o755 });
  if (checked.kind === 'symlink') {
    await symlink(checked.linkpath ?? '', target);
    entry.resume();
    return;
  }
  const mode = (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644;
  // 'wx' never follows or replaces an existing name; chmod undoes the umask.
  const handle = await open(target, 'wx', mode);
  let out;
  try {
    await handle.chmod(mode);
    out = handle.createWriteStream();
  } catch (err) {
    await handle.close();
    throw err;
  }
  await pipeline(entry, out);
}
