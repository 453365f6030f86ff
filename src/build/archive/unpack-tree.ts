import type { UploadLimits } from '../../core/limits.js';
import { emptyDir, prepareEmptyDir } from './dest-dir.js';
import { readTar, type ReadTarOptions, type TarReadEntry } from './tar-reader.js';
import { TreeChecker, type TreeEntry, type TreeEntryKind } from './tree-checker.js';
import { TreeWriter } from './tree-writer.js';

/** The tar entry types a tree is made of; every other type is refused by the caller. */
export const TREE_KIND_BY_TYPE: Partial<Record<string, TreeEntryKind>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  SymbolicLink: 'symlink',
};

/** What {@link UnpackTreeOptions.place} decides for one entry. */
export type Placement = TreeEntry | 'root' | 'taken';

/** Options for {@link unpackTree}. */
export interface UnpackTreeOptions {
  /** The archive and how to read it; a given `input` is destroyed if the read never starts. */
  read: Omit<ReadTarOptions, 'onEntry'>;
  /** Created when missing; must be empty. Left empty on any failure. */
  destDir: string;
  limits: UploadLimits;
  /**
   * Says where entry number `index` goes: a checked place in the tree, `'root'` for the tree's
   * own folder (skipped), or `'taken'` when the caller consumed the entry itself (a manifest).
   * Throwing refuses the archive.
   */
  place(entry: TarReadEntry, index: number): Promise<Placement> | Placement;
  /** The caller's last checks, once every entry is written and checked; throwing empties `destDir` too. */
  verify?(checker: TreeChecker): void;
  /** Makes the writer of checked entries (default a {@link TreeWriter} into `destDir`). */
  writer?: (destDir: string) => Promise<EntryWriter>;
}

/** What takes the checked entries: a {@link TreeWriter}, or one that may keep them in memory. */
export type EntryWriter = Pick<TreeWriter, 'add' | 'finish' | 'settle'>;

/**
 * Unpacks an archive into `destDir` in one pass, all or nothing: each entry is placed by the
 * caller, checked by a {@link TreeChecker} and only then written by a {@link TreeWriter}
 * (several writes at a time). Links are checked against each other once all are known
 * (`TreeChecker.finish`); until then nothing was written through one, since no entry may sit
 * under a symlink. On any refusal, every write is let finish and then everything written is
 * removed, so `destDir` holds either the whole approved tree or nothing. Returns the checker,
 * whose counts describe what was written.
 */
export async function unpackTree(options: UnpackTreeOptions): Promise<TreeChecker> {
  const { destDir } = options;
  const abandon = (err: unknown): never => {
    options.read.input?.destroy();
    throw err;
  };
  await prepareEmptyDir(destDir).catch(abandon);
  try {
    const checker = new TreeChecker(options.limits);
    const writer = await (options.writer ?? ((dir) => TreeWriter.create(dir)))(destDir).catch(abandon);
    let index = 0;
    try {
      await readTar({
        ...options.read,
        onEntry: async (entry) => {
          const placed = await options.place(entry, index++);
          if (placed === 'taken') return;
          const checked = placed === 'root' ? null : placed;
          if (checked) checker.add(checked);
          await writer.add(entry, checked);
        },
      });
      await writer.finish();
    } catch (err) {
      // Writes still running would land after the clean-up below.
      await writer.settle();
      throw err;
    }
    checker.finish();
    options.verify?.(checker);
    return checker;
  } catch (err) {
    await emptyDir(destDir);
    throw err;
  }
}
