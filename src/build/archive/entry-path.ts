import { SlipwayError, isSlipwayError } from '../../core/errors.js';

/** Linux's limits on one name and on a whole path, in bytes. */
const MAX_NAME_BYTES = 255;
const MAX_PATH_BYTES = 4095;

/** The error for an entry that makes a whole upload unsafe; `details.entry` names it. */
export function unsafeEntry(entry: string, reason: string): SlipwayError {
  return new SlipwayError('unsafe_archive', `unsafe archive entry ${JSON.stringify(entry)}: ${reason}`, {
    details: { entry, reason },
  });
}

/**
 * Turns an entry name from an upload into the POSIX path it will have under the destination,
 * or throws `unsafe_archive`. Harmless spelling is tidied (`./a//b/` becomes `a/b`); anything
 * that could mean a different place on another system is refused rather than rewritten:
 * absolute paths, drive letters, `..`, backslashes, NUL and other control characters.
 * Returns `''` for the root itself (`./`), which callers skip or refuse.
 */
export function normalizeEntryPath(raw: string): string {
  if (/[\x00-\x1f\x7f]/.test(raw)) throw unsafeEntry(raw, 'control character in path');
  // What a decoder makes of bytes that are not UTF-8: the raw-name check (raw-names.ts)
  // refuses those names first, and this catches any way around it (odd pax records, say).
  if (raw.includes('\uFFFD')) throw unsafeEntry(raw, 'name is not valid UTF-8');
  if (raw.includes('\\')) throw unsafeEntry(raw, 'backslash in path');
  if (raw.startsWith('/')) throw unsafeEntry(raw, 'absolute path');
  if (/^[A-Za-z]:/.test(raw)) throw unsafeEntry(raw, 'drive letter in path');
  const segments: string[] = [];
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw unsafeEntry(raw, "'..' in path");
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) throw unsafeEntry(raw, 'name too long');
    segments.push(segment);
  }
  const path = segments.join('/');
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw unsafeEntry(raw, 'path too long');
  return path;
}

/**
 * Checks a symlink's target on its own: relative, no odd characters, and not climbing out of
 * the root when resolved from the link's directory. Chains through other links are checked by
 * the tree checker once every link is known.
 */
export function checkLinkTarget(entry: string, target: string): void {
  if (target === '') throw unsafeEntry(entry, 'empty symlink target');
  if (/[\x00-\x1f\x7f]/.test(target)) throw unsafeEntry(entry, 'control character in symlink target');
  if (target.includes('\uFFFD')) throw unsafeEntry(entry, 'symlink target is not valid UTF-8');
  if (target.includes('\\')) throw unsafeEntry(entry, 'backslash in symlink target');
  if (target.startsWith('/') || /^[A-Za-z]:/.test(target)) throw unsafeEntry(entry, 'absolute symlink target');
  const depth = entry.split('/').length - 1;
  let level = depth;
  for (const segment of target.split('/')) {
    if (segment === '..') level--;
    else if (segment !== '' && segment !== '.') level++;
    if (level < 0) throw unsafeEntry(entry, 'symlink target outside the archive');
  }
}

/** Compares strings by their UTF-8 bytes, the order tar entries and manifests are sorted in. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** True when `path` can stand in an archive as it is (the normalizer keeps it unchanged). */
export function isCarriable(path: string): boolean {
  try {
    return normalizeEntryPath(path) === path;
  } catch (err) {
    if (isSlipwayError(err, 'unsafe_archive')) return false;
    throw err;
  }
}
