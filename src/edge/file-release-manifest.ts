import { SlipwayError } from '../core/errors.js';
import {
  FILE_RELEASE_FORMAT,
  RELEASE_ENCODINGS,
  type FileReleaseEntry,
  type FileReleaseManifest,
  type FileReleaseVariant,
  type ReleaseEncoding,
} from '../core/release-format.js';
import { isSha256Hex } from '../util/sha256.js';
import { HEADER_VALUE_RE, isSafeSitePath } from './release-manifest.js';

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release manifest: ${message}`, { details });
}

/**
 * Parses and checks a format-2 release manifest (src/core/release-format.ts) as strictly as
 * `parseReleaseManifest` checks format 1: the format and kind, every path safe and unique,
 * sizes safe integers, every sha256 lowercase hex, content types header-safe, only known
 * variants, and one size per blob (two entries naming one blob with different sizes cannot
 * both be right). Throws `invalid_archive` on the first problem.
 */
export function parseFileReleaseManifest(bytes: Buffer): FileReleaseManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new SlipwayError('invalid_archive', 'release manifest: not JSON', { cause: err });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid('not an object');
  const m = raw as Record<string, unknown>;
  if (m.format !== FILE_RELEASE_FORMAT) throw invalid('unsupported format', { format: m.format });
  if (m.kind !== 'static') throw invalid('not a static release', { kind: m.kind });
  if (!Array.isArray(m.files)) throw invalid('files is not an array');
  const paths = new Set<string>();
  const sizes = new Map<string, number>();
  const files = m.files.map((f: unknown) => checkEntry(f, paths, sizes));
  return { format: FILE_RELEASE_FORMAT, kind: 'static', files };
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function checkBlob(blob: { sha256: unknown; size: unknown }, sizes: Map<string, number>, path: string): void {
  const { sha256, size } = blob;
  if (typeof sha256 !== 'string' || !isSha256Hex(sha256)) throw invalid('bad sha256', { path });
  if (!isSize(size)) throw invalid('bad size', { path });
  const known = sizes.get(sha256);
  if (known !== undefined && known !== size) throw invalid('one blob with two sizes', { path, sha256 });
  sizes.set(sha256, size);
}

function checkEntry(value: unknown, paths: Set<string>, sizes: Map<string, number>): FileReleaseEntry {
  if (typeof value !== 'object' || value === null) throw invalid('file is not an object');
  const f = value as Record<string, unknown>;
  const { path, size, sha256, content_type: contentType, variants } = f;
  if (typeof path !== 'string' || !isSafeSitePath(path)) throw invalid('bad path', { path });
  if (paths.has(path)) throw invalid('duplicate path', { path });
  paths.add(path);
  checkBlob({ sha256, size }, sizes, path);
  if (typeof contentType !== 'string' || !HEADER_VALUE_RE.test(contentType)) throw invalid('bad content_type', { path });
  if (typeof variants !== 'object' || variants === null || Array.isArray(variants)) throw invalid('bad variants', { path });
  const checked: Partial<Record<ReleaseEncoding, FileReleaseVariant>> = {};
  for (const [encoding, variant] of Object.entries(variants)) {
    if (!(RELEASE_ENCODINGS as readonly string[]).includes(encoding)) throw invalid('unknown encoding', { path, encoding });
    if (typeof variant !== 'object' || variant === null) throw invalid('bad variant', { path, encoding });
    const v = variant as Record<string, unknown>;
    checkBlob({ sha256: v.sha256, size: v.size }, sizes, path);
    checked[encoding as ReleaseEncoding] = { sha256: v.sha256 as string, size: v.size as number };
  }
  if (f.immutable !== undefined && f.immutable !== true) throw invalid('bad immutable', { path });
  const entry: FileReleaseEntry = {
    path, size: size as number, sha256: sha256 as string, content_type: contentType, variants: checked,
  };
  if (f.immutable === true) entry.immutable = true;
  return entry;
}
