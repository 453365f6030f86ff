/**
 * Header parsing on the request hot path, written as char-code scans so that a request
 * allocates no strings or arrays here.
 */

const SPACE = 0x20;
const TAB = 0x09;
const COMMA = 0x2c;
const SEMI = 0x3b;
const EQUALS = 0x3d;
const QUOTE = 0x22;

/** Content codings the edge can send, in order of preference. */
export type ChosenEncoding = 'br' | 'gzip' | null;

const UNLISTED = -1;
const REFUSED = 0;
const ACCEPTED = 1;

/**
 * Picks the best precomputed coding the client accepts: br, then gzip, else none (identity).
 * A coding counts as accepted when listed with q > 0, or unlisted while `*` has q > 0; `q=0`
 * refuses it (RFC 9110 §12.5.3). `x-gzip` is gzip. Identity is always the fallback, even if
 * refused: RFC 9110 says to send an uncoded response rather than fail.
 */
export function negotiateEncoding(header: string | undefined, hasBr: boolean, hasGzip: boolean): ChosenEncoding {
  if (header === undefined || header.length === 0) return null;
  let br = UNLISTED;
  let gzip = UNLISTED;
  let star = UNLISTED;
  const n = header.length;
  let i = 0;
  while (i < n) {
    let c = header.charCodeAt(i);
    if (c === SPACE || c === TAB || c === COMMA) {
      i++;
      continue;
    }
    const start = i;
    while (i < n && (c = header.charCodeAt(i)) !== COMMA && c !== SEMI && c !== SPACE && c !== TAB) i++;
    const end = i;
    let state = ACCEPTED;
    // Parameters: only q matters; anything else is skipped up to the next comma.
    while (i < n && (c = header.charCodeAt(i)) !== COMMA) {
      i++;
      if (c !== SEMI) continue;
      while (i < n && ((c = header.charCodeAt(i)) === SPACE || c === TAB)) i++;
      if (i + 1 < n && (header.charCodeAt(i) | SPACE) === 0x71 && header.charCodeAt(i + 1) === EQUALS) {
        i += 2;
        state = REFUSED;
        while (i < n && (c = header.charCodeAt(i)) !== COMMA && c !== SEMI && c !== SPACE) {
          if (c >= 0x31 && c <= 0x39) state = ACCEPTED;
          i++;
        }
      }
    }
    const length = end - start;
    if (length === 2 && tokenAt(header, start, 'br')) br = state;
    else if ((length === 4 && tokenAt(header, start, 'gzip')) || (length === 6 && tokenAt(header, start, 'x-gzip'))) {
      gzip = state;
    } else if (length === 1 && header.charCodeAt(start) === 0x2a) star = state;
  }
  if (hasBr && (br === ACCEPTED || (br === UNLISTED && star === ACCEPTED))) return 'br';
  if (hasGzip && (gzip === ACCEPTED || (gzip === UNLISTED && star === ACCEPTED))) return 'gzip';
  return null;
}

/** Case-insensitive compare of `header` at `start` with a lower-case token (length checked by the caller). */
function tokenAt(header: string, start: number, token: string): boolean {
  for (let k = 0; k < token.length; k++) {
    if ((header.charCodeAt(start + k) | SPACE) !== token.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * True when `If-None-Match` matches `etag` (a quoted strong tag), so the answer is 304.
 * Uses the weak comparison RFC 9110 §13.1.2 prescribes for this header: `W/"x"` matches
 * `"x"`. Handles `*` and comma-separated lists; malformed members are skipped.
 */
export function ifNoneMatchHits(header: string, etag: string): boolean {
  if (header === etag) return true;
  const n = header.length;
  let i = 0;
  while (i < n) {
    const c = header.charCodeAt(i);
    if (c === SPACE || c === TAB || c === COMMA) {
      i++;
    } else if (c === 0x2a) {
      return true;
    } else if (c === 0x57 && header.charCodeAt(i + 1) === 0x2f) {
      i += 2; // W/ prefix: weak comparison ignores it
    } else if (c === QUOTE) {
      const close = header.indexOf('"', i + 1);
      if (close === -1) return false;
      if (close + 1 - i === etag.length && header.startsWith(etag, i)) return true;
      i = close + 1;
    } else {
      const next = header.indexOf(',', i);
      if (next === -1) return false;
      i = next + 1;
    }
  }
  return false;
}
