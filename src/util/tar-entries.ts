import { Header, Pax } from 'tar';
import { SlipwayError } from '../core/errors.js';

/** One regular file of a tar, its bytes a zero-copy view into the tar's Buffer. */
export interface TarEntry {
  path: string;
  data: Buffer;
  /** Permission bits from the header (0644, 0755, …). */
  mode: number;
}

const BLOCK = 512;

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release tar: ${message}`, { details });
}

/**
 * Reads every regular file of an uncompressed tar held in memory, synchronously and in order.
 * Header blocks are decoded by tar@7's `Header` (ustar prefix, base-256 sizes, checksum) and
 * PAX records by its `Pax`; the block walk is ours because tar's `Parser` is a stream and
 * quietly rewrites unsafe paths, where a release must be taken exactly as written or refused.
 * GNU long names (`L`) are honoured; directory entries are skipped; links, devices, bad
 * checksums, truncation and duplicate paths throw `invalid_archive`.
 */
export function readTarEntries(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  const seen = new Set<string>();
  let pending: { path?: string; size?: number } | undefined;
  let offset = 0;
  while (offset + BLOCK <= tar.length) {
    if (isZeroBlock(tar, offset)) return entries;
    const header = new Header(tar, offset, pending);
    if (!header.cksumValid) throw invalid('bad header checksum', { offset });
    const size = header.size ?? 0;
    const start = offset + BLOCK;
    const end = start + size;
    if (!Number.isSafeInteger(size) || end > tar.length) {
      throw invalid('entry runs past the end', { offset });
    }
    const body = tar.subarray(start, end);
    offset = start + Math.ceil(size / BLOCK) * BLOCK;
    switch (header.type) {
      case 'ExtendedHeader':
        pending = { ...pending, ...pick(Pax.parse(body.toString('utf8'))) };
        continue;
      case 'GlobalExtendedHeader':
        continue;
      case 'NextFileHasLongPath':
        pending = { ...pending, path: body.toString('utf8').replace(/\0+$/, '') };
        continue;
      case 'Directory':
        pending = undefined;
        continue;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        // Header prepends the ustar prefix even to a PAX path; the PAX path is the whole name.
        const path = pending?.path ?? header.path ?? '';
        if (seen.has(path)) throw invalid('duplicate entry', { entry: path });
        seen.add(path);
        entries.push({ path, data: body, mode: (header.mode ?? 0o644) & 0o7777 });
        pending = undefined;
        continue;
      }
      default:
        throw invalid(`unsupported entry type ${header.type}`, { entry: header.path });
    }
  }
  // A tar ends with zero blocks; running out of bytes before them means it was cut short.
  throw invalid('truncated (no end-of-archive marker)');
}

function pick(pax: Pax): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  if (pax.path !== undefined) out.path = pax.path;
  if (pax.size !== undefined) out.size = pax.size;
  return out;
}

function isZeroBlock(buf: Buffer, offset: number): boolean {
  for (let i = offset; i < offset + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}
