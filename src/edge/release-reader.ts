import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Header, Pax } from 'tar';
import { SlipwayError, isSlipwayError } from '../core/errors.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import { FileChunks } from './file-chunks.js';
import type { FileVariant } from './file-entry.js';
import { parseReleaseManifest } from './release-manifest.js';
import { SiteBuilder, type SiteBuilderOptions } from './site-builder.js';
import type { Site } from './site.js';

const BLOCK = 512;
/** PAX records and GNU long names are a few hundred bytes; more means a hostile tar. */
const MAX_META_BYTES = 1024 * 1024;
/** A manifest lists at most tens of thousands of files (~200 bytes each). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/** Neighbouring small bodies are read back in windows of up to this size. */
const RELOAD_WINDOW_BYTES = 1024 * 1024;

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release tar: ${message}`, { details });
}

/**
 * Loads the release tar at `path` (src/core/release-format.ts) in one sequential pass: the
 * whole file is hashed against `sha256`, the manifest and every entry are checked as in
 * `SiteBuilder`, small bodies are kept and large ones only located. A file whose bytes do not
 * match their name throws `blob_corrupt` (even when the damage also breaks the tar); a file
 * that matches but is not a valid release throws `invalid_archive`; a missing one, ENOENT.
 */
export async function readReleaseFile(path: string, sha256: string, options: SiteBuilderOptions): Promise<Site> {
  const handle = await open(path, 'r');
  try {
    const reader = new FileChunks(handle);
    let site: Site;
    try {
      site = await walk(reader, path, options);
    } catch (err) {
      // A damaged copy often fails as a tar first; the hash tells damage from a bad release.
      if (isSlipwayError(err, 'invalid_archive') && (await reader.digest()) !== sha256) throw corrupt(path, err);
      throw err;
    }
    if ((await reader.digest()) !== sha256) throw corrupt(path);
    return site;
  } finally {
    await handle.close();
  }
}

function corrupt(path: string, cause?: unknown): SlipwayError {
  return new SlipwayError('blob_corrupt', 'release file does not match its sha256', { cause, details: { path } });
}

async function walk(reader: FileChunks, tarPath: string, options: SiteBuilderOptions): Promise<Site> {
  let builder: SiteBuilder | null = null;
  const seen = new Set<string>();
  let pending: { path?: string; size?: number } | undefined;
  for (;;) {
    const offset = reader.position;
    const block = await reader.take(BLOCK);
    if (isZeroBlock(block)) break;
    const header = decodeHeader(block, pending, offset);
    const size = header.size ?? 0;
    if (!Number.isSafeInteger(size) || size < 0) throw invalid('bad entry size', { offset });
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    switch (header.type) {
      case 'ExtendedHeader':
        pending = { ...pending, ...pick(Pax.parse((await takeMeta(reader, size, offset)).toString('utf8'))) };
        continue;
      case 'NextFileHasLongPath':
        pending = { ...pending, path: (await takeMeta(reader, size, offset)).toString('utf8').replace(/\0+$/, '') };
        continue;
      case 'GlobalExtendedHeader':
        await reader.skip(size + pad);
        continue;
      case 'Directory':
        await reader.skip(size + pad);
        pending = undefined;
        continue;
      case 'File':
      case 'OldFile':
      case 'ContiguousFile': {
        // Header prepends the ustar prefix even to a PAX path; the PAX path is the whole name.
        const path = pending?.path ?? header.path ?? '';
        pending = undefined;
        if (seen.has(path)) throw invalid('duplicate entry', { entry: path });
        seen.add(path);
        if (builder === null) {
          if (path !== RELEASE_MANIFEST_ENTRY) throw invalid(`${RELEASE_MANIFEST_ENTRY} is not the first entry`, { entry: path });
          if (size > MAX_MANIFEST_BYTES) throw invalid('manifest too large', { size });
          builder = new SiteBuilder(parseReleaseManifest(await reader.take(size)), options);
          await reader.skip(pad);
          continue;
        }
        await readBody(reader, builder, { path, size });
        await reader.skip(pad);
        continue;
      }
      default:
        throw invalid(`unsupported entry type ${header.type}`, { entry: header.path });
    }
  }
  if (builder === null) throw invalid(`${RELEASE_MANIFEST_ENTRY} is not the first entry`);
  return builder.finish(tarPath);
}

async function readBody(reader: FileChunks, builder: SiteBuilder, entry: { path: string; size: number }): Promise<void> {
  const { path, size } = entry;
  const offset = reader.position;
  const keep = builder.expect(path, size);
  const hash = createHash('sha256');
  let body: Buffer | null = null;
  if (keep) body = await reader.take(size);
  else await reader.consume(size, (chunk) => hash.update(chunk));
  if (body !== null) hash.update(body);
  builder.add(path, { offset, size, sha256: hash.digest('hex'), body });
}

async function takeMeta(reader: FileChunks, size: number, offset: number): Promise<Buffer> {
  if (size > MAX_META_BYTES) throw invalid('extended header too large', { offset });
  const body = await reader.take(size);
  await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
  return body;
}

/** tar's Header throws plain Errors on some malformed fields (a bad base-256 number). */
function decodeHeader(block: Buffer, pending: { path?: string; size?: number } | undefined, offset: number): Header {
  let header: Header;
  try {
    header = new Header(block, 0, pending);
  } catch (err) {
    throw new SlipwayError('invalid_archive', 'release tar: undecodable header', { cause: err, details: { offset } });
  }
  if (!header.cksumValid) throw invalid('bad header checksum', { offset });
  return header;
}

function pick(pax: Pax): { path?: string; size?: number } {
  const out: { path?: string; size?: number } = {};
  if (pax.path !== undefined) out.path = pax.path;
  if (pax.size !== undefined) out.size = pax.size;
  return out;
}

function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Reads an evicted site's small bodies back from its tar and checks each against the hash
 * taken at load, then puts them all back at once (the site is resident again). Neighbouring
 * bodies share one read. Throws `blob_corrupt` if the file changed; the site then stays
 * evicted.
 */
export async function reloadBodies(site: Site): Promise<void> {
  if (site.tarPath === null || site.resident) return;
  const variants: FileVariant[] = [];
  for (const entry of site.files.values()) {
    for (const v of [entry.identity, entry.br, entry.gzip]) if (v !== null && v.small) variants.push(v);
  }
  variants.sort((a, b) => a.offset - b.offset);
  const bodies = new Map<FileVariant, Buffer>();
  const handle = await open(site.tarPath, 'r');
  try {
    for (let i = 0; i < variants.length; ) {
      const first = variants[i] as FileVariant;
      let j = i + 1;
      while (j < variants.length) {
        const next = variants[j] as FileVariant;
        if (next.offset + next.size - first.offset > RELOAD_WINDOW_BYTES) break;
        j++;
      }
      const last = variants[j - 1] as FileVariant;
      const window = Buffer.allocUnsafe(last.offset + last.size - first.offset);
      const { bytesRead } = await handle.read(window, 0, window.length, first.offset);
      if (bytesRead !== window.length) throw corrupt(site.tarPath);
      for (const v of variants.slice(i, j)) {
        const body = Buffer.from(window.subarray(v.offset - first.offset, v.offset - first.offset + v.size));
        if (createHash('sha256').update(body).digest('hex') !== v.sha256) throw corrupt(site.tarPath);
        bodies.set(v, body);
      }
      i = j;
    }
  } finally {
    await handle.close();
  }
  for (const [variant, body] of bodies) variant.body = body;
  site.resident = true;
}
