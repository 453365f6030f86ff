import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { SlipwayError } from '../../core/errors.js';
import { unsafeEntry } from './entry-path.js';
import { TarBounds } from './tar-bounds.js';

/** Options for {@link readTar}. */
export interface ReadTarOptions {
  /** The archive as a file; or give `input`. */
  archivePath?: string;
  /** The archive as a stream, read once (a request body); it is consumed or destroyed. */
  input?: Readable;
  /**
   * True for tar.gz, false for a plain tar: the bytes must match, a mislabelled archive is
   * refused, not guessed at. `'sniff'` decides by the gzip magic bytes.
   */
  gzip: boolean | 'sniff';
  /** Where the expected format came from, named in the refusal (e.g. `Content-Type application/gzip`). */
  declaredBy?: string;
  /**
   * Most bytes of plain tar to read, after decompression and including what follows the
   * end-of-archive blocks; past it the read stops with `archive_too_large`. Unbounded when absent.
   */
  maxTarBytes?: number;
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
  /** Whether the archive was gzip-compressed. */
  gzip: boolean;
}

/**
 * Reads a tar or tar.gz entry by entry with node-tar's strict parser: a bad checksum, a
 * truncated body or a corrupt gzip stream fails the read with `invalid_archive`. Entry types
 * node-tar would silently skip (sparse files, volume labels, oversized metadata) are refused
 * with `unsafe_archive`, so nothing in the archive goes unseen, and so are names that are not
 * UTF-8. An archive holding only its end-of-archive blocks reads as zero entries.
 *
 * The cost is linear in the input and the event loop is never held for long: gzip is inflated
 * by Node's asynchronous zlib (libuv's thread pool), the parser is fed chunk by chunk with
 * backpressure, and feeding stops at the end-of-archive blocks ({@link TarBounds}); at most
 * 1 MiB of zero padding may follow them (`invalid_archive` otherwise).
 */
export async function readTar(options: ReadTarOptions): Promise<ReadTarResult> {
  const raw = options.input ?? createReadStream(options.archivePath ?? '');
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

  let gzip = false;
  let tarStream: Readable | undefined;
  try {
    const opened = await openTarStream(raw, options);
    gzip = opened.gzip;
    tarStream = opened.stream;
    const bounds = new TarBounds();
    let tarBytes = 0;
    let parserEnded = false;
    for await (const chunk of tarStream) {
      tarBytes += (chunk as Buffer).length;
      if (options.maxTarBytes !== undefined && tarBytes > options.maxTarBytes) {
        throw new SlipwayError('archive_too_large', `the archive unpacks to more than ${options.maxTarBytes} bytes of tar`, {
          details: { limit: options.maxTarBytes },
        });
      }
      const part = bounds.push(chunk as Buffer);
      if (failure !== undefined) break;
      if (part.length > 0 && parseError === undefined && !parser.write(part)) await Promise.race([once(parser, 'drain'), finished]);
      if (bounds.ended && !parserEnded) {
        parserEnded = true;
        parser.end();
      }
    }
    if (!parserEnded) parser.end();
    await finished;
  } catch (err) {
    stop(toReadError(err, gzip));
  } finally {
    tarStream?.destroy();
    raw.destroy();
  }
  await chain;
  if (failure !== undefined) throw failure;
  // node-tar calls a tar of nothing but end blocks "unrecognized"; it is valid and empty.
  if (parseError !== undefined && sawEndBlock && entries === 0) return { entries: 0, gzip };
  // node-tar accepts a file cut off between entries; an upload without its end block is
  // incomplete, whatever it contains.
  const reason = parseError?.message ?? (sawEndBlock ? undefined : 'truncated (no end-of-archive block)');
  if (reason !== undefined) {
    throw new SlipwayError('invalid_archive', `not a readable ${gzip ? 'tar.gz' : 'tar'}: ${reason}`, { cause: parseError });
  }
  return { entries, gzip };
}

/** zlib's failures mean a corrupt archive; anything else (a refused body, a disk error) stays as it is. */
function toReadError(err: unknown, gzip: boolean): unknown {
  if (err instanceof SlipwayError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new SlipwayError('invalid_archive', `not a readable ${gzip ? 'tar.gz' : 'tar'}: ${(err as Error).message}`, { cause: err });
  }
  return err;
}

/** Checks the first bytes against the expected format and returns the plain tar stream. */
async function openTarStream(raw: Readable, options: ReadTarOptions): Promise<{ gzip: boolean; stream: Readable }> {
  const it = raw[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await it.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  const isGzip = head[0] === 0x1f && head[1] === 0x8b;
  if (options.gzip === true && !isGzip) {
    const said = options.declaredBy ? `, but ${options.declaredBy} says it is` : ' (expected tar.gz)';
    throw new SlipwayError('invalid_archive', `the body is not gzip-compressed${said}`, {
      details: { expected: 'gzip' },
    });
  }
  if (options.gzip === false && isGzip) {
    const said = options.declaredBy ? ` (${options.declaredBy} says a plain tar)` : '';
    throw new SlipwayError('invalid_archive', `the body is gzip-compressed${said}: send it as application/gzip`, { details: { expected: 'tar' } });
  }
  const rest = Readable.from(
    (async function* () {
      if (head.length > 0) yield head;
      for (;;) {
        const next = await it.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
    { objectMode: false },
  );
  if (!isGzip) return { gzip: false, stream: rest };
  // Errors reach the reader through the gunzip stream, which pipeline destroys with them.
  return { gzip: true, stream: pipeline(rest, createGunzip(), () => {}) };
}
