import { Header, Pax, type HeaderData } from 'tar';
import { SlipwayError } from '../core/errors.js';

/** One regular file of a tar, its bytes a zero-copy view into the tar's Buffer. */
export interface TarEntry {
  path: string;
  data: Buffer;
  /** Permission bits from the header (0644, 0755, …). */
  mode: number;
}

/** A tar block: headers, and the unit bodies are padded to. */
export const TAR_BLOCK = 512;

/** PAX records and GNU long names are a few hundred bytes; more means a hostile tar. */
const MAX_TAR_META_BYTES = 1024 * 1024;

/**
 * What a header block asks of the reader, in {@link TarWalk.header}'s answer: the archive ends;
 * a metadata body of `size` bytes follows (hand it to {@link TarWalk.meta}); a body to pass over
 * (directories, global headers); or a regular file's body.
 */
export type TarStep =
  | { kind: 'end' }
  | { kind: 'meta'; size: number; type: string }
  | { kind: 'skip'; size: number }
  | { kind: 'file'; path: string; size: number; mode: number };

/** {@link TarWalk.foreignHeader}'s answer: as {@link TarStep}, but every entry is handed on. */
export type ForeignTarStep = Exclude<TarStep, { kind: 'file' }> | { kind: 'entry'; size: number; entry: TarHeaderEntry };

/** An entry of a foreign tar as {@link TarWalk.foreignHeader} hands it on, whatever its type. */
export interface TarHeaderEntry {
  /** The whole name: a PAX or GNU long name if one came before, else the header's (ustar prefix joined). */
  path: string;
  /** node-tar's name for the type flag (`File`, `Directory`, `SymbolicLink`, `Link`, `FIFO`, …). */
  type: string;
  /** Bytes of body that follow the header (then padding to a whole block). */
  size: number;
  /** Permission bits (0644, 0755, …). */
  mode: number;
  mtime?: Date;
  /** The link target of a `Link` or `SymbolicLink`. */
  linkpath?: string;
}

/** Options for a {@link TarWalk}. */
export interface TarWalkOptions {
  /** Names the archive in refusals (default `release tar`). */
  what?: string;
}

/** Metadata entries a foreign walk applies to the entry after them (global headers are skipped). */
const FOREIGN_META = new Set(['ExtendedHeader', 'OldExtendedHeader', 'NextFileHasLongPath', 'OldGnuLongPath', 'NextFileHasLongLinkpath']);
const LINK_TYPES = new Set(['Link', 'SymbolicLink']);

/** The bytes a body of `size` takes in the archive: itself and its padding to a whole block. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

/**
 * Decodes one header block with tar@7's `Header`, with the PAX values of this entry (`ex`) and
 * of the archive (`gex`) applied as node-tar applies them; {@link TarWalk}, the one block walk
 * over tar headers, decodes through here. A field `Header` cannot decode (a bad
 * base-256 number: it throws a plain Error) or a checksum that does not match throws
 * `invalid_archive`, naming `what` (the archive) and the byte offset.
 */
export function decodeTarHeader(block: Buffer, at: { offset: number; what: string; ex?: HeaderData; gex?: HeaderData }): Header {
  let header: Header;
  try {
    header = new Header(block, 0, at.ex, at.gex);
  } catch (err) {
    throw new SlipwayError('invalid_archive', `${at.what}: undecodable header at byte ${at.offset}`, {
      cause: err,
      details: { offset: at.offset },
    });
  }
  if (!header.cksumValid) {
    throw new SlipwayError('invalid_archive', `${at.what}: bad header checksum at byte ${at.offset}`, { details: { offset: at.offset } });
  }
  return header;
}

function invalid(message: string, details: Record<string, unknown> = {}, what = 'release tar'): SlipwayError {
  return new SlipwayError('invalid_archive', `${what}: ${message}`, { details });
}

/**
 * The one block walk over tar headers, for every tar we read: header blocks are decoded by
 * tar@7's `Header` (ustar prefix, base-256 sizes, checksum) and PAX records by its `Pax`, GNU
 * long names (`L`) are honoured. The walk does no I/O: each caller feeds it header blocks and
 * metadata bodies from wherever its bytes are, so the in-memory {@link readTarEntries}, the
 * edge's single-pass, hashing file reader (edge/release-reader.ts, which also needs each body's
 * offset) and the streaming reader of uploads and built releases (build/archive/tar-reader.ts,
 * which feeds it a gunzipped stream chunk by chunk) share every rule of decoding.
 *
 * {@link header} is strict, for our own archives (releases, snapshots, image layers), taken
 * exactly as written or refused: directory entries and global headers are passed over, and
 * links, devices, unknown types, oversized metadata and duplicate paths throw
 * `invalid_archive`. For archives made elsewhere (uploads, through
 * {@link foreignHeader}) every entry is handed on for the caller's own checks (the upload's
 * tree checker refuses links out, devices and duplicates with `unsafe_archive`), as node-tar's
 * strict parser did: a missing name, a link without a target or another entry with one throw
 * `invalid_archive`; long link names (`K`) and old GNU long names are honoured too, global
 * headers skipped, and metadata of any size left to the caller to bound. Both throw
 * `invalid_archive` on bad checksums, undecodable headers and bad sizes.
 */
export class TarWalk {
  readonly #seen = new Set<string>();
  readonly #what: string;
  #foreign = false;
  /** What PAX records and long names said about the next entry. */
  #pending: { path?: string; size?: number; linkpath?: string; mode?: number; mtime?: Date } | undefined;
  /** The kind of the metadata body {@link meta} takes next. */
  #metaType = 'ExtendedHeader';

  constructor(options: TarWalkOptions = {}) {
    this.#what = options.what ?? 'release tar';
  }

  /** Decodes the header block found at archive byte `offset` (named in refusals), strictly. */
  header(block: Buffer, offset: number): TarStep {
    if (isZeroBlock(block)) return { kind: 'end' };
    const { header, size } = this.#decode(block, offset);
    switch (header.type) {
      case 'ExtendedHeader':
      case 'NextFileHasLongPath':
        if (size > MAX_TAR_META_BYTES) throw invalid('extended header too large', { offset });
        this.#metaType = header.type;
        return { kind: 'meta', size, type: header.type };
      case 'GlobalExtendedHeader':
        return { kind: 'skip', size };
      case 'Directory':
        this.#pending = undefined;
        return { kind: 'skip', size };
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        // Header prepends the ustar prefix even to a PAX path; the PAX path is the whole name.
        const path = this.#pending?.path ?? header.path ?? '';
        this.#pending = undefined;
        if (this.#seen.has(path)) throw invalid('duplicate entry', { entry: path });
        this.#seen.add(path);
        return { kind: 'file', path, size, mode: (header.mode ?? 0o644) & 0o7777 };
      }
      default:
        throw invalid(`unsupported entry type ${header.type}`, { entry: header.path });
    }
  }

  /** Applies the body of the metadata entry whose header last answered `meta`. */
  meta(body: Buffer): void {
    const text = body.toString('utf8');
    // A long name ends at its first NUL (as GNU tar and node-tar read it); ours only pad with NULs.
    const name = (): string => (this.#foreign ? text.replace(/\0[^]*$/, '') : text.replace(/\0+$/, ''));
    if (this.#metaType === 'NextFileHasLongPath' || this.#metaType === 'OldGnuLongPath') {
      this.#pending = { ...this.#pending, path: name() };
    } else if (this.#metaType === 'NextFileHasLongLinkpath') {
      this.#pending = { ...this.#pending, linkpath: name() };
    } else {
      this.#pending = { ...this.#pending, ...pick(Pax.parse(text)) };
    }
  }

  /**
   * Decodes the header block found at archive byte `offset` of an archive made elsewhere: every
   * entry is handed on. A walk is used with this or with {@link header}, not both.
   */
  foreignHeader(block: Buffer, offset: number): ForeignTarStep {
    this.#foreign = true;
    if (isZeroBlock(block)) return { kind: 'end' };
    const { header, size } = this.#decode(block, offset);
    const type = header.type;
    if (type === 'GlobalExtendedHeader') return { kind: 'skip', size };
    if (FOREIGN_META.has(type)) {
      this.#metaType = type;
      return { kind: 'meta', size, type };
    }
    // Header prepends the ustar prefix even to a PAX path; the PAX path is the whole name.
    const path = this.#pending?.path ?? header.path ?? '';
    const ownLink = header.linkpath || undefined;
    const isLink = LINK_TYPES.has(type);
    // A long link name before an entry that is no link is passed over, as node-tar and GNU tar do.
    const linkpath = isLink ? (this.#pending?.linkpath ?? ownLink) : undefined;
    this.#pending = undefined;
    if (path === '') throw invalid('an entry without a name', { offset }, this.#what);
    if (isLink && linkpath === undefined) throw invalid('a link without a target', { offset, entry: path }, this.#what);
    if (!isLink && ownLink !== undefined) throw invalid(`a ${type} entry with a link target`, { offset, entry: path }, this.#what);
    const entry: TarHeaderEntry = { path, type, size, mode: (header.mode ?? 0o644) & 0o7777 };
    if (header.mtime !== undefined) entry.mtime = header.mtime;
    if (linkpath !== undefined) entry.linkpath = linkpath;
    return { kind: 'entry', size, entry };
  }

  #decode(block: Buffer, offset: number): { header: Header; size: number } {
    const header = decodeTarHeader(block, { offset, what: this.#what, ex: this.#pending });
    const size = header.size ?? 0;
    if (!Number.isSafeInteger(size) || size < 0) throw invalid('bad entry size', { offset }, this.#what);
    return { header, size };
  }
}

/**
 * Reads every regular file of an uncompressed tar held in memory, synchronously and in order,
 * with the rules of {@link TarWalk}; truncation throws `invalid_archive` too.
 */
export function readTarEntries(tar: Buffer): TarEntry[] {
  const walk = new TarWalk();
  const entries: TarEntry[] = [];
  let offset = 0;
  while (offset + TAR_BLOCK <= tar.length) {
    const step = walk.header(tar.subarray(offset, offset + TAR_BLOCK), offset);
    if (step.kind === 'end') return entries;
    const start = offset + TAR_BLOCK;
    if (start + step.size > tar.length) throw invalid('entry runs past the end', { offset });
    const body = tar.subarray(start, start + step.size);
    offset = start + paddedSize(step.size);
    if (step.kind === 'meta') walk.meta(body);
    else if (step.kind === 'file') entries.push({ path: step.path, data: body, mode: step.mode });
  }
  // A tar ends with zero blocks; running out of bytes before them means it was cut short.
  throw invalid('truncated (no end-of-archive marker)');
}

function pick(pax: Pax): { path?: string; size?: number; linkpath?: string; mode?: number; mtime?: Date } {
  const out: { path?: string; size?: number; linkpath?: string; mode?: number; mtime?: Date } = {};
  if (pax.path !== undefined) out.path = pax.path;
  if (pax.size !== undefined) out.size = pax.size;
  if (pax.linkpath !== undefined) out.linkpath = pax.linkpath;
  if (pax.mode !== undefined) out.mode = pax.mode;
  if (pax.mtime !== undefined) out.mtime = pax.mtime;
  return out;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < TAR_BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}
