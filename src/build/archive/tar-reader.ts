import { createReadStream } from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { SlipwayError } from '../../core/errors.js';
import { TAR_BLOCK, TarWalk, paddedSize, type TarHeaderEntry } from '../../util/tar-entries.js';
import { ChunkSource } from './chunk-source.js';
import { unsafeEntry } from './entry-path.js';
import { RawNameCheck } from './raw-names.js';
import { TarReadEntry } from './tar-read-entry.js';

export { TarReadEntry } from './tar-read-entry.js';

/**
 * Bytes allowed after the end-of-archive blocks. Tools pad a tar to a whole record (GNU tar
 * and bsdtar to 10240 bytes, some tape-minded tools to more); anything past this is not padding.
 */
export const TRAILING_ALLOWANCE_BYTES = 1024 * 1024;

/** PAX records and long names are a few hundred bytes; more is refused, unread. */
const MAX_META_BYTES = 1024 * 1024;

/** The entry types handed to `onEntry`; any other (sparse files, volume labels, …) is refused. */
const ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', 'BlockDevice', 'FIFO', 'GNUDumpDir']);

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
   * returned promise settles. It should consume the entry (read it or `resume()` it); a body
   * left unread when it settles is passed over. Throwing stops the read and the error is
   * rethrown as is.
   */
  onEntry: (entry: TarReadEntry) => Promise<void> | void;
}

/** What a complete read saw. */
export interface ReadTarResult {
  /** Entries delivered to `onEntry` (metadata headers not counted). */
  entries: number;
  /** Whether the archive was gzip-compressed. */
  gzip: boolean;
}

/**
 * Reads a tar or tar.gz entry by entry through the one tar block walk (util/tar-entries.ts,
 * `TarWalk.foreignHeader`), fed the (gunzipped) stream chunk by chunk: each entry goes to
 * `onEntry` with its body as a stream, and no more of the archive is pulled until that body is
 * read, so a slow consumer holds the read back. A bad checksum, an undecodable header, a
 * truncated body, a missing end-of-archive block or a corrupt gzip stream fails the read with
 * `invalid_archive`. Entry types that are not files, folders, links, devices or FIFOs (sparse
 * files, volume labels), metadata over 1 MiB and names that are not UTF-8 are refused with
 * `unsafe_archive`, so nothing in the archive goes unseen. An archive holding only its
 * end-of-archive blocks reads as zero entries.
 *
 * The cost is linear in the input and the event loop is never held for long: gzip is inflated
 * by Node's asynchronous zlib (libuv's thread pool) and the walk takes each chunk as it comes.
 * Reading stops at the end-of-archive blocks; at most {@link TRAILING_ALLOWANCE_BYTES} of zero
 * padding may follow them (`invalid_archive` otherwise).
 *
 * This is the reader for archives unpacked to disk (uploads, dynamic and image releases); our
 * own tars read in memory or by the edge use the same walk, strict (util/tar-entries.ts).
 */
export async function readTar(options: ReadTarOptions): Promise<ReadTarResult> {
  const raw = options.input ?? createReadStream(options.archivePath ?? '');
  let gzip = false;
  let tarStream: Readable | undefined;
  try {
    const opened = await openTarStream(raw, options);
    gzip = opened.gzip;
    tarStream = opened.stream;
    const source = new ChunkSource(tarStream, options.maxTarBytes);
    const entries = await walkEntries(source, gzip, options.onEntry);
    await checkTrailing(source);
    return { entries, gzip };
  } catch (err) {
    throw toReadError(err, gzip);
  } finally {
    tarStream?.destroy();
    raw.destroy();
  }
}

/** Walks the archive up to its end-of-archive block, handing each entry on; returns how many. */
async function walkEntries(source: ChunkSource, gzip: boolean, onEntry: ReadTarOptions['onEntry']): Promise<number> {
  const what = `not a readable ${gzip ? 'tar.gz' : 'tar'}`;
  const truncated = (): SlipwayError => new SlipwayError('invalid_archive', `${what}: truncated (no end-of-archive block)`);
  const walk = new TarWalk({ what });
  const names = new RawNameCheck();
  let entries = 0;
  for (let offset = 0; ; ) {
    const block = await source.take(TAR_BLOCK);
    if (block === null) throw truncated();
    if (offset === 0 && block[0] === 0x1f && block[1] === 0x8b) {
      // A gzip inside the gzip: refused, not inflated a second time.
      throw new SlipwayError('invalid_archive', 'the archive is gzip-compressed twice');
    }
    const step = walk.foreignHeader(block, offset);
    if (step.kind === 'end') return entries;
    offset += TAR_BLOCK + paddedSize(step.size);
    let padding = paddedSize(step.size);
    if (step.kind === 'meta') {
      if (step.size > MAX_META_BYTES) throw unsafeEntry(`(${step.type})`, `metadata entry larger than ${MAX_META_BYTES} bytes`);
      const body = await source.take(step.size);
      if (body === null) throw truncated();
      // Both or neither: the walk ignores an empty long name and uses the header's own name,
      // which the raw check must then still see (it skips names it thinks were replaced).
      if (step.size > 0) {
        names.meta(step.type, body);
        walk.meta(body);
      }
      padding -= step.size;
    } else if (step.kind === 'entry') {
      names.entry(block);
      if (!ENTRY_TYPES.has(step.entry.type)) throw unsafeEntry(step.entry.path, `unsupported entry type ${step.entry.type}`);
      entries++;
      await deliver(step.entry, source, { onEntry, truncated });
      padding -= step.size;
    }
    if (!(await source.skip(padding))) throw truncated();
  }
}

/**
 * Hands one entry to `onEntry` while its body is filled from the archive. The first failure
 * wins: a handler that throws stops the read with its error; a body cut short stops it with
 * `invalid_archive`, and the handler's read of it fails too (its error is then not news).
 */
async function deliver(header: TarHeaderEntry, source: ChunkSource, use: { onEntry: ReadTarOptions['onEntry']; truncated: () => Error }): Promise<void> {
  const entry = new TarReadEntry(header);
  // Errors reach the handler through its own read; this only keeps an unread, destroyed entry quiet.
  entry.on('error', () => {});
  let failure: { err: unknown } | undefined;
  const handled = (async () => use.onEntry(entry))().then(
    () => {
      // A body left unread is passed over, so the filler below can finish.
      if (!entry.readableEnded) entry.resume();
    },
    (err: unknown) => {
      failure ??= { err };
      entry.destroy();
    },
  );
  try {
    await entry.fill(source, () => failure !== undefined, use.truncated);
  } catch (err) {
    failure ??= { err };
    entry.destroy(err as Error);
  }
  await handled;
  if (failure !== undefined) throw failure.err;
}

/** After the end-of-archive block: only zero padding, within the allowance, may follow. */
async function checkTrailing(source: ChunkSource): Promise<void> {
  // The second end-of-archive block is part of the archive, not of the padding after it.
  let left = TRAILING_ALLOWANCE_BYTES + TAR_BLOCK;
  await source.rest((piece) => {
    left -= piece.length;
    if (left < 0) {
      throw new SlipwayError('invalid_archive', `more than ${TRAILING_ALLOWANCE_BYTES} bytes after the end of the archive`, {
        details: { limit_bytes: TRAILING_ALLOWANCE_BYTES },
      });
    }
    if (!allZero(piece)) throw new SlipwayError('invalid_archive', 'data after the end of the archive (only zero padding may follow it)');
  });
}

const ZEROS = Buffer.alloc(64 * 1024);

function allZero(bytes: Buffer): boolean {
  for (let at = 0; at < bytes.length; at += ZEROS.length) {
    const part = bytes.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
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
  return { gzip: true, stream: pipeline(rest, createGunzip({ chunkSize: 64 * 1024 }), () => {}) };
}
