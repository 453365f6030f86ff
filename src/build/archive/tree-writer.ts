import { chmod, mkdir, open, rmdir, stat, symlink, type FileHandle } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { readBody, type TarReadEntry } from './tar-read-entry.js';
import type { TreeEntry } from './tree-checker.js';
import { WriteQueue } from './write-queue.js';

/** Options for {@link TreeWriter.create}. */
export interface TreeWriterOptions {
  /** Files up to this size are read into memory and written in the background (default 1 MiB); larger ones are streamed in place. */
  bufferedFileBytes?: number;
  /** Most writes running at once (default 12). */
  maxParallel?: number;
  /** Most bytes of buffered file bodies waiting or being written at once (default 32 MiB). */
  maxBufferedBytes?: number;
}

/**
 * Writes the entries of one archive, already accepted in order by a {@link TreeChecker}, under
 * an empty `root`, several at a time. Reading an archive is sequential but the disk work is a
 * chain of thread-pool round trips per file (mkdir, open, write, close), so small files are
 * taken into memory as they are read and written by up to `maxParallel` background writes,
 * within `maxBufferedBytes`; large files are streamed straight from the archive. Each folder is
 * made once (remembered), files are opened with their final mode (`wx`: nothing existing is
 * followed or replaced), and `chmod` runs only when the umask would strip a mode bit (then on
 * folders too: instances running as another user must be able to read a release).
 *
 * Writing out of order is safe because the checker already refused everything that could make
 * order matter: a name used twice, anything under a file or a symlink, a folder where a file or
 * link is. So every folder made here holds only entries of the archive, and no write goes
 * through a link. Files get 0755 or 0644 from the entry's exec bits, folders 0755.
 *
 * {@link add} throws the first failed write, so reading stops early; {@link finish} waits for
 * every write and throws if one failed; on any failure the caller calls {@link settle} before
 * removing what was written, so nothing lands after the clean-up.
 */
export class TreeWriter {
  readonly #root: string;
  readonly #queue: WriteQueue;
  readonly #bufferedFileBytes: number;
  readonly #chmod: boolean;
  /** Folders made or being made, by path relative to the root ('' is the root). */
  readonly #dirs = new Map<string, Promise<void>>([['', Promise.resolve()]]);

  private constructor(root: string, chmod: boolean, options: TreeWriterOptions) {
    this.#root = root;
    this.#chmod = chmod;
    this.#bufferedFileBytes = options.bufferedFileBytes ?? 1024 * 1024;
    this.#queue = new WriteQueue({ maxTasks: options.maxParallel ?? 12, maxBytes: options.maxBufferedBytes ?? 32 * 1024 * 1024 });
  }

  /** A writer into `root`, which must exist and be empty (see `prepareEmptyDir`). */
  static async create(root: string, options: TreeWriterOptions = {}): Promise<TreeWriter> {
    return new TreeWriter(root, await umaskStrips(root), options);
  }

  /**
   * Takes the next entry (null: the root itself, skipped) and consumes it: a small file is read
   * into memory and queued, a large one streamed to disk before this returns. Waits while the
   * queue is full; throws the first failed write.
   */
  async add(entry: TarReadEntry, checked: TreeEntry | null): Promise<void> {
    if (checked === null) {
      entry.resume();
      return;
    }
    if (checked.kind === 'dir') {
      entry.resume();
      return this.addDir(checked.path);
    }
    if (checked.kind === 'symlink') {
      entry.resume();
      return this.addSymlink(checked.path, checked.linkpath ?? '');
    }
    const mode = entry.mode & 0o111 ? 0o755 : 0o644;
    if (checked.size > this.#bufferedFileBytes) {
      this.#queue.check();
      await this.#dir(parentOf(checked.path));
      const handle = await this.#open(join(this.#root, checked.path), mode);
      // The write stream closes the handle when it ends or fails.
      await pipeline(entry, handle.createWriteStream());
      return;
    }
    return this.addFile(checked.path, await readBody(entry), mode);
  }

  /** Queues folder `path` (checked, relative). */
  addDir(path: string): Promise<void> {
    return this.#queue.add(0, () => this.#dir(path));
  }

  /** Queues a symlink at `path` (checked, relative) to `linkpath`. */
  addSymlink(path: string, linkpath: string): Promise<void> {
    return this.#queue.add(0, async () => {
      await this.#dir(parentOf(path));
      await symlink(linkpath, join(this.#root, path));
    });
  }

  /** Queues a file at `path` (checked, relative) with bytes already in memory. */
  addFile(path: string, body: Buffer, mode: 0o644 | 0o755): Promise<void> {
    return this.#queue.add(body.length, async () => {
      await this.#dir(parentOf(path));
      const handle = await this.#open(join(this.#root, path), mode);
      try {
        await handle.writeFile(body);
      } finally {
        await handle.close();
      }
    });
  }

  /** Waits for every write; throws the first that failed. */
  finish(): Promise<void> {
    return this.#queue.drain();
  }

  /** Waits for every write to end, failed or not: call it before removing what was written. */
  settle(): Promise<void> {
    return this.#queue.settle();
  }

  async #open(target: string, mode: number): Promise<FileHandle> {
    const handle = await open(target, 'wx', mode);
    if (!this.#chmod) return handle;
    try {
      await handle.chmod(mode);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return handle;
  }

  /** Makes folder `path` (relative) and its parents, each once. */
  #dir(path: string): Promise<void> {
    let made = this.#dirs.get(path);
    if (made === undefined) {
      made = this.#dir(parentOf(path)).then(async () => {
        const dir = join(this.#root, path);
        await mkdir(dir, { mode: 0o755 });
        if (this.#chmod) await chmod(dir, 0o755);
      });
      this.#dirs.set(path, made);
    }
    return made;
  }
}

function parentOf(path: string): string {
  const parent = posix.dirname(path);
  return parent === '.' ? '' : parent;
}

/**
 * Whether the process umask strips a bit of 0755 (and so of 0644), learned once per writer by
 * making and removing a folder in the empty root. Reading the umask with `process.umask()`
 * would set it twice, racing with files the thread pool is creating meanwhile.
 */
async function umaskStrips(root: string): Promise<boolean> {
  const probe = join(root, '.umask-probe');
  await mkdir(probe, { mode: 0o755 });
  try {
    return ((await stat(probe)).mode & 0o777) !== 0o755;
  } finally {
    await rmdir(probe);
  }
}
