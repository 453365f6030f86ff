import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Parser, type ReadEntry } from 'tar';
import { SlipwayError } from '../../core/errors.js';
import { unsafeEntry } from './entry-path.js';

/** Options for {@link readTar}. */
export interface ReadTarOptions {
  archivePath: string;
  /** True for tar.gz. The bytes must match: a mislabelled upload is refused, not guessed at. */
  gzip: boolean;
  /**
   * Called for each entry in order, one at a time; the next entry is not delivered until the
   * returned promise settles. It must consume the entry (read it or `resume()` it). Throwing
   * stops the read and the error is rethrown as is.
   */
  onEntry: (entry: ReadEntry) => Promise<void> | void;
}

/** What a complete read saw. */
export interface ReadTarResult {
  /** Entries delivered to `onEntry` (metadata headers not counted). */
  entries: number;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Reads a tar or tar.gz file entry by entry with node-tar's strict parser: a bad checksum, a
 * truncated body or a corrupt gzip stream fails the read with `invalid_archive`. Entry types
 * node-tar would silently skip (sparse files, volume labels, oversized metadata) are refused
 * with `unsafe_archive`, so nothing in the archive goes unseen. An archive holding only its
 * end-of-archive blocks reads as zero entries.
 */
export async function readTar(options: ReadTarOptions): Promise<ReadTarResult> {
  await checkMagic(options.archivePath, options.gzip);
  const parser = new Parser({ strict: true, brotli: false, zstd: false });
  let failure: unknown;
  let parseError: Error | undefined;
  let sawEndBlock = false;
  let entries = 0;
  let chain = Promise.resolve();
  const pending = new Set<ReadEntry>();

  const stop = (err: unknown): void => {
    failure ??= err;
    parser.abort(new Error('read stopped'));
  };
  parser.on('entry', (entry: ReadEntry) => {
    entries++;
    pending.add(entry);
    entry.once('end', () => pending.delete(entry));
    // Errors reach the handler through its own read; this only stops an unread entry that is
    // destroyed below from throwing for want of a listener.
    entry.on('error', () => {});
    chain = chain
      .then(async () => {
        if (failure !== undefined || parseError !== undefined) entry.resume();
        else await options.onEntry(entry);
      })
      .catch((err: unknown) => {
        entry.resume();
        // After a parse error, handlers fail because their entry was cut off: not news.
        if (parseError === undefined) stop(err);
      });
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    stop(unsafeEntry(entry.path, `unsupported entry type ${entry.type}`));
  });
  parser.on('nullBlock', () => {
    sawEndBlock = true;
  });
  const finished = new Promise<void>((resolve) => {
    parser.on('error', (err: Error) => {
      parseError ??= err;
      // A handler still waiting for a body that will never come must not hang the read.
      for (const entry of pending) entry.destroy(err);
      resolve();
    });
    parser.on('end', () => resolve());
  });

  // minizlib throws from write()/end() on corrupt gzip instead of emitting: same outcome.
  const feed = (call: () => unknown): unknown => {
    try {
      return call();
    } catch (err) {
      parser.emit('error', err);
      return true;
    }
  };
  const input = createReadStream(options.archivePath);
  try {
    for await (const chunk of input) {
      if (parseError !== undefined) break;
      if (!feed(() => parser.write(chunk as Buffer))) await Promise.race([once(parser, 'drain'), finished]);
    }
    if (parseError === undefined) feed(() => parser.end());
    await finished;
  } catch (err) {
    if (parseError === undefined) throw err;
  } finally {
    input.destroy();
  }
  await chain;
  if (failure !== undefined) throw failure;
  // node-tar calls a tar of nothing but end blocks "unrecognized"; it is valid and empty.
  if (parseError !== undefined && sawEndBlock && entries === 0) return { entries: 0 };
  // node-tar accepts a file cut off between entries; an upload without its end block is
  // incomplete, whatever it contains.
  const reason = parseError?.message ?? (sawEndBlock ? undefined : 'truncated (no end-of-archive block)');
  if (reason !== undefined) {
    throw new SlipwayError('invalid_archive', `not a readable ${options.gzip ? 'tar.gz' : 'tar'}: ${reason}`, {
      cause: parseError,
    });
  }
  return { entries };
}

async function checkMagic(path: string, gzip: boolean): Promise<void> {
  const handle = await open(path, 'r');
  let head: Buffer;
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
  const isGzip = head.equals(GZIP_MAGIC);
  if (gzip && !isGzip) throw new SlipwayError('invalid_archive', 'the body is not gzip-compressed (expected tar.gz)');
  if (!gzip && isGzip) {
    throw new SlipwayError('invalid_archive', 'the body is gzip-compressed: send it as application/gzip');
  }
}
