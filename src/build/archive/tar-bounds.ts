import { isUtf8 } from 'node:buffer';
import { Header, Pax, type HeaderData } from 'tar';
import { SlipwayError } from '../../core/errors.js';
import { unsafeEntry } from './entry-path.js';

/**
 * Bytes allowed after the end-of-archive blocks. Tools pad a tar to a whole record (GNU tar
 * and bsdtar to 10240 bytes, some tape-minded tools to more); anything past this is not padding.
 */
export const TRAILING_ALLOWANCE_BYTES = 1024 * 1024;

/** node-tar ignores (and we then refuse) metadata entries larger than this; their bodies are not kept. */
const MAX_META_BYTES = 1024 * 1024;

const ZEROS = Buffer.alloc(64 * 1024);
const ZERO_BLOCK = ZEROS.subarray(0, 512);

const META_TYPES = new Set(['ExtendedHeader', 'OldExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'OldGnuLongPath', 'NextFileHasLongLinkpath']);

/**
 * Walks the block structure of a plain tar stream alongside node-tar's parser, header by header,
 * with node-tar's own `Header` and `Pax` decoding (so both agree on every entry's size). It is
 * what lets a read stop at the end-of-archive blocks: node-tar keeps buffering whatever follows
 * them, concatenating each new chunk onto the last, which costs quadratic time. It also sees the
 * raw name bytes node-tar decodes lossily: a name that is not UTF-8 is refused with
 * `unsafe_archive` instead of reaching the disk with `?` or U+FFFD in it.
 *
 * {@link push} returns the part of each chunk that belongs to the archive; once the end is seen,
 * the rest must be zero padding within {@link TRAILING_ALLOWANCE_BYTES}, else `invalid_archive`.
 */
export class TarBounds {
  #header = Buffer.alloc(512);
  #headerFill = 0;
  #first = true;
  /** Body and padding bytes still to pass before the next header. */
  #bodyLeft = 0;
  #meta: { type: string; chunks: Buffer[]; left: number } | undefined;
  #nullBlocks = 0;
  #ex: HeaderData | undefined;
  #gex: HeaderData | undefined;
  #longPath = false;
  #longLink = false;
  #offset = 0;
  /** True once both end-of-archive blocks were seen. */
  ended = false;
  /** Bytes seen after the end-of-archive blocks. */
  trailingBytes = 0;

  /** Takes the next chunk; returns its part up to the end of the archive (all of it until then). */
  push(chunk: Buffer): Buffer {
    if (this.ended) {
      this.#trailing(chunk);
      return chunk.subarray(0, 0);
    }
    let pos = 0;
    while (pos < chunk.length && !this.ended) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, chunk.length - pos);
        this.#collectMeta(chunk.subarray(pos, pos + n));
        this.#bodyLeft -= n;
        pos += n;
        if (this.#bodyLeft === 0) this.#finishMeta();
        continue;
      }
      const n = Math.min(512 - this.#headerFill, chunk.length - pos);
      chunk.copy(this.#header, this.#headerFill, pos, pos + n);
      this.#headerFill += n;
      pos += n;
      if (this.#headerFill === 512) {
        const block = this.#header;
        this.#header = Buffer.alloc(512);
        this.#headerFill = 0;
        this.#onHeader(block);
        this.#offset += 512;
      }
    }
    if (this.ended) this.#trailing(chunk.subarray(pos));
    return chunk.subarray(0, pos);
  }

  #trailing(rest: Buffer): void {
    this.trailingBytes += rest.length;
    if (this.trailingBytes > TRAILING_ALLOWANCE_BYTES) {
      throw new SlipwayError('invalid_archive', `more than ${TRAILING_ALLOWANCE_BYTES} bytes after the end of the archive`, {
        details: { limit_bytes: TRAILING_ALLOWANCE_BYTES },
      });
    }
    if (!allZero(rest)) {
      throw new SlipwayError('invalid_archive', 'data after the end of the archive (only zero padding may follow it)');
    }
  }

  #onHeader(block: Buffer): void {
    if (this.#first && block[0] === 0x1f && block[1] === 0x8b) {
      // node-tar would sniff this and gunzip it again, synchronously, on the event loop.
      throw new SlipwayError('invalid_archive', 'the archive is gzip-compressed twice');
    }
    this.#first = false;
    if (block.equals(ZERO_BLOCK)) {
      if (++this.#nullBlocks === 2) this.ended = true;
      return;
    }
    this.#nullBlocks = 0;
    let header: Header;
    try {
      header = new Header(block, 0, this.#ex, this.#gex);
    } catch (err) {
      throw new SlipwayError('invalid_archive', `not a readable tar: bad header at byte ${this.#offset}`, { cause: err });
    }
    if (!header.cksumValid) {
      throw new SlipwayError('invalid_archive', `not a readable tar: header checksum failure at byte ${this.#offset}`);
    }
    const size = header.size ?? 0;
    this.#bodyLeft = 512 * Math.ceil(size / 512);
    this.#offset += this.#bodyLeft;
    const type = header.type;
    if (META_TYPES.has(type)) {
      if (size > 0 && size <= MAX_META_BYTES) this.#meta = { type, chunks: [], left: size };
      return;
    }
    if (!this.#longPath) checkName(rawPath(block));
    if (!this.#longLink) checkName(field(block, 157, 100));
    this.#ex = undefined;
    this.#longPath = false;
    this.#longLink = false;
  }

  #collectMeta(part: Buffer): void {
    const meta = this.#meta;
    if (!meta || meta.left === 0) return;
    const take = part.subarray(0, Math.min(meta.left, part.length));
    meta.chunks.push(Buffer.from(take));
    meta.left -= take.length;
  }

  /** Applies a metadata entry the way node-tar's parser does, after checking its names. */
  #finishMeta(): void {
    const meta = this.#meta;
    this.#meta = undefined;
    if (!meta) return;
    const body = Buffer.concat(meta.chunks);
    switch (meta.type) {
      case 'ExtendedHeader':
      case 'OldExtendedHeader':
      case 'GlobalExtendedHeader': {
        const global = meta.type === 'GlobalExtendedHeader';
        for (const [key, value] of paxRecords(body)) {
          if (key !== 'path' && key !== 'linkpath') continue;
          checkName(value);
          if (!global && key === 'path') this.#longPath = true;
          if (!global && key === 'linkpath') this.#longLink = true;
        }
        if (global) this.#gex = Pax.parse(body.toString('utf8'), this.#gex, true);
        else this.#ex = Pax.parse(body.toString('utf8'), this.#ex, false);
        return;
      }
      default: {
        const name = upToNul(body);
        checkName(name);
        const ex: HeaderData = this.#ex ?? Object.create(null);
        this.#ex = ex;
        if (meta.type === 'NextFileHasLongLinkpath') {
          ex.linkpath = name.toString('utf8');
          this.#longLink = true;
        } else {
          ex.path = name.toString('utf8');
          this.#longPath = true;
        }
      }
    }
  }
}

function allZero(bytes: Buffer): boolean {
  for (let at = 0; at < bytes.length; at += ZEROS.length) {
    const part = bytes.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

/** The name field with the ustar prefix, as node-tar joins them. */
function rawPath(block: Buffer): Buffer {
  const name = field(block, 0, 100);
  if (block.subarray(257, 265).toString('latin1') !== 'ustar\u000000') return name;
  const prefix = field(block, 345, block[475] !== 0 ? 155 : 130);
  return prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
}

function field(block: Buffer, start: number, length: number): Buffer {
  return upToNul(block.subarray(start, start + length));
}

function upToNul(bytes: Buffer): Buffer {
  const end = bytes.indexOf(0);
  return end === -1 ? bytes : bytes.subarray(0, end);
}

/** The `key=value` records of a pax header body, values as raw bytes. */
function* paxRecords(body: Buffer): Generator<[string, Buffer]> {
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space === -1) return;
    const length = Number(body.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= space - at || at + length > body.length) return;
    const record = body.subarray(space + 1, at + length);
    const eq = record.indexOf(0x3d);
    if (eq > 0) {
      const value = record.subarray(eq + 1);
      yield [record.toString('latin1', 0, eq), value.at(-1) === 0x0a ? value.subarray(0, -1) : value];
    }
    at += length;
  }
}

function checkName(raw: Buffer): void {
  if (!isUtf8(raw)) throw unsafeEntry(escapeBytes(raw), 'name is not valid UTF-8');
}

/** Printable ASCII as is, every other byte as `\xNN`: a bad name, shown without guessing its encoding. */
export function escapeBytes(raw: Buffer): string {
  let out = '';
  for (const byte of raw) {
    out += byte >= 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
