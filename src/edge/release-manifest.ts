import { SlipwayError } from '../core/errors.js';
import {
  RELEASE_ENCODINGS,
  RELEASE_FORMAT_VERSION,
  type ReleaseEncoding,
  type ReleaseFile,
  type ReleaseManifest,
} from '../core/release-format.js';
import { isSha256Hex } from '../util/sha256.js';

/** Header values go to the wire verbatim, so a CR or LF here would be response splitting. */
export const HEADER_VALUE_RE = /^[\x20-\x7e]+$/;

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release manifest: ${message}`, { details });
}

/**
 * True for a POSIX site path the edge can serve: relative, no empty, `.` or `..` segments,
 * no NUL or backslash. The packager only writes such paths; anything else means a corrupt or
 * hostile release.
 */
export function isSafeSitePath(path: string): boolean {
  if (path === '' || path.includes('\0') || path.includes('\\')) return false;
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return false;
  }
  return true;
}

/**
 * Parses and checks `release.json`: the format version, the kind, and every file's path, size,
 * sha256, content type and encodings. Throws `invalid_archive` on the first problem.
 */
export function parseReleaseManifest(bytes: Buffer): ReleaseManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new SlipwayError('invalid_archive', 'release manifest: not JSON', { cause: err });
  }
  if (typeof raw !== 'object' || raw === null) throw invalid('not an object');
  const m = raw as Record<string, unknown>;
  if (m.format !== RELEASE_FORMAT_VERSION) throw invalid('unsupported format', { format: m.format });
  if (m.kind !== 'static') throw invalid('not a static release', { kind: m.kind });
  if (!Array.isArray(m.files)) throw invalid('files is not an array');
  const seen = new Set<string>();
  const files = m.files.map((f: unknown) => checkFile(f, seen));
  return { format: RELEASE_FORMAT_VERSION, kind: 'static', files };
}

function checkFile(value: unknown, seen: Set<string>): ReleaseFile {
  if (typeof value !== 'object' || value === null) throw invalid('file is not an object');
  const f = value as Record<string, unknown>;
  const { path, size, sha256, content_type: contentType, encodings } = f;
  if (typeof path !== 'string' || !isSafeSitePath(path)) throw invalid('bad path', { path });
  if (seen.has(path)) throw invalid('duplicate path', { path });
  seen.add(path);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid('bad size', { path });
  }
  if (typeof sha256 !== 'string' || !isSha256Hex(sha256)) throw invalid('bad sha256', { path });
  if (typeof contentType !== 'string' || !HEADER_VALUE_RE.test(contentType)) {
    throw invalid('bad content_type', { path });
  }
  if (!Array.isArray(encodings) || new Set(encodings).size !== encodings.length) {
    throw invalid('bad encodings', { path });
  }
  for (const e of encodings) {
    if (!(RELEASE_ENCODINGS as readonly unknown[]).includes(e)) {
      throw invalid('unknown encoding', { path, encoding: e });
    }
  }
  if (f.immutable !== undefined && f.immutable !== true) throw invalid('bad immutable', { path });
  const file: ReleaseFile = { path, size, sha256, content_type: contentType, encodings: encodings as ReleaseEncoding[] };
  if (f.immutable === true) file.immutable = true;
  return file;
}
