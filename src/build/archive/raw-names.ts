import { isUtf8 } from 'node:buffer';
import { unsafeEntry } from './entry-path.js';

/**
 * Checks the raw bytes of every name in an upload, which the block walk (util/tar-entries.ts)
 * decodes lossily as UTF-8: a name that is not UTF-8 is refused with `unsafe_archive` instead
 * of reaching the disk with U+FFFD in it. Fed the same header blocks and metadata bodies as the
 * walk, in order; a header's own name fields are checked only when no long name or PAX record
 * replaces them (those are checked as they come).
 */
export class RawNameCheck {
  #longPath = false;
  #longLink = false;

  /** Checks a metadata body (PAX records or a GNU long name) of tar type `type`. */
  meta(type: string, body: Buffer): void {
    if (type === 'NextFileHasLongPath' || type === 'OldGnuLongPath' || type === 'NextFileHasLongLinkpath') {
      checkName(upToNul(body));
      if (type === 'NextFileHasLongLinkpath') this.#longLink = true;
      else this.#longPath = true;
      return;
    }
    for (const [key, value] of paxRecords(body)) {
      if (key !== 'path' && key !== 'linkpath') continue;
      checkName(value);
      if (key === 'path') this.#longPath = true;
      else this.#longLink = true;
    }
  }

  /** Checks the name fields of an entry's header block (not of a metadata header). */
  entry(block: Buffer): void {
    if (!this.#longPath) checkName(rawPath(block));
    if (!this.#longLink) checkName(field(block, 157, 100));
    this.#longPath = false;
    this.#longLink = false;
  }
}

/** The name field with the ustar prefix, as `Header` joins them. */
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
