import { readBody, type TarReadEntry } from './tar-read-entry.js';
import type { TreeEntry, TreeEntryKind } from './tree-checker.js';
import { TreeWriter } from './tree-writer.js';

/** One checked entry of an upload held in memory, as the archive gave it. */
export interface MemoryUploadEntry {
  /** The normalized path (see `normalizeEntryPath`). */
  path: string;
  kind: TreeEntryKind;
  /** A file's bytes. */
  data?: Buffer;
  /** Permission bits from the archive; only the executable bits matter. */
  mode: number;
  /** A symlink's target. */
  linkpath?: string;
}

/**
 * Takes checked entries as a {@link TreeWriter} does, but keeps them in memory while their
 * files total at most `budgetBytes`: most sources are small, and a publish of one then needs no
 * tree on disk. The entry that would pass the budget moves everything to a `TreeWriter` in
 * `root` (the entries so far first, in order), which takes the rest. Either way the caller gets
 * exactly the approved entries: {@link entries} while in memory, the tree once spilled.
 */
export class SpillingTreeWriter {
  readonly #root: string;
  readonly #budgetBytes: number;
  #entries: MemoryUploadEntry[] = [];
  #bytes = 0;
  #disk: TreeWriter | null = null;

  constructor(root: string, budgetBytes: number) {
    this.#root = root;
    this.#budgetBytes = budgetBytes;
  }

  /** The entries, in archive order, or null once they went to disk. */
  get entries(): MemoryUploadEntry[] | null {
    return this.#disk === null ? this.#entries : null;
  }

  /** As {@link TreeWriter.add}. */
  async add(entry: TarReadEntry, checked: TreeEntry | null): Promise<void> {
    if (this.#disk !== null) return this.#disk.add(entry, checked);
    if (checked === null) {
      entry.resume();
      return;
    }
    if (checked.kind === 'file' && this.#bytes + checked.size > this.#budgetBytes) {
      const disk = await this.#spill();
      return disk.add(entry, checked);
    }
    if (checked.kind !== 'file') {
      entry.resume();
      this.#entries.push({ path: checked.path, kind: checked.kind, mode: entry.mode, ...(checked.linkpath === undefined ? {} : { linkpath: checked.linkpath }) });
      return;
    }
    const data = await readBody(entry);
    this.#bytes += data.length;
    this.#entries.push({ path: checked.path, kind: 'file', data, mode: entry.mode });
  }

  /** As {@link TreeWriter.finish}. */
  finish(): Promise<void> {
    return this.#disk?.finish() ?? Promise.resolve();
  }

  /** As {@link TreeWriter.settle}. */
  settle(): Promise<void> {
    return this.#disk?.settle() ?? Promise.resolve();
  }

  async #spill(): Promise<TreeWriter> {
    const disk = await TreeWriter.create(this.#root);
    this.#disk = disk;
    const held = this.#entries;
    this.#entries = [];
    for (const e of held) {
      if (e.kind === 'dir') await disk.addDir(e.path);
      else if (e.kind === 'symlink') await disk.addSymlink(e.path, e.linkpath ?? '');
      else await disk.addFile(e.path, e.data ?? Buffer.alloc(0), e.mode & 0o111 ? 0o755 : 0o644);
    }
    return disk;
  }
}
