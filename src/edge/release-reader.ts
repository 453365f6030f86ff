import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { SlipwayError, isSlipwayError } from '../core/errors.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import { TAR_BLOCK, TarWalk, paddedSize } from '../util/tar-entries.js';
import { FileChunks } from './file-chunks.js';
import type { FileVariant } from './file-entry.js';
import { parseReleaseManifest } from './release-manifest.js';
import { SiteBuilder, type SiteBuilderOptions } from './site-builder.js';
import type { Site } from './site.js';

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
  const tar = new TarWalk();
  for (;;) {
    const offset = reader.position;
    const step = tar.header(await reader.take(TAR_BLOCK), offset);
    if (step.kind === 'end') break;
    const pad = paddedSize(step.size) - step.size;
    if (step.kind === 'meta') {
      tar.meta(await reader.take(step.size));
      await reader.skip(pad);
      continue;
    }
    if (step.kind === 'skip') {
      await reader.skip(step.size + pad);
      continue;
    }
    const { path, size } = step;
    if (builder === null) {
      if (path !== RELEASE_MANIFEST_ENTRY) throw invalid(`${RELEASE_MANIFEST_ENTRY} is not the first entry`, { entry: path });
      if (size > MAX_MANIFEST_BYTES) throw invalid('manifest too large', { size });
      builder = new SiteBuilder(parseReleaseManifest(await reader.take(size)), options);
    } else {
      await readBody(reader, builder, { path, size });
    }
    await reader.skip(pad);
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

/**
 * Reads an evicted site's small bodies back from disk (its release tar, or the per-file cache
 * for a format-2 release) and checks each against the hash taken at load, then puts them all
 * back at once (the site is resident again). Neighbouring bodies in one file share one read.
 * Throws `blob_corrupt` if a file changed; the site then stays evicted.
 */
export async function reloadBodies(site: Site): Promise<void> {
  if (site.tarPath === null || site.resident) return;
  const byFile = new Map<string, FileVariant[]>();
  for (const entry of site.files.values()) {
    for (const v of [entry.identity, entry.br, entry.gzip]) {
      if (v === null || !v.small || v.tarPath === null) continue;
      const list = byFile.get(v.tarPath);
      if (list === undefined) byFile.set(v.tarPath, [v]);
      else list.push(v);
    }
  }
  const bodies = new Map<FileVariant, Buffer>();
  for (const [path, variants] of byFile) await reloadFrom(path, variants, bodies);
  for (const [variant, body] of bodies) variant.body = body;
  site.resident = true;
}

async function reloadFrom(path: string, variants: FileVariant[], bodies: Map<FileVariant, Buffer>): Promise<void> {
  variants.sort((a, b) => a.offset - b.offset);
  const handle = await open(path, 'r');
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
      if (bytesRead !== window.length) throw corrupt(path);
      for (const v of variants.slice(i, j)) {
        const body = Buffer.from(window.subarray(v.offset - first.offset, v.offset - first.offset + v.size));
        if (createHash('sha256').update(body).digest('hex') !== v.sha256) throw corrupt(path);
        bodies.set(v, body);
      }
      i = j;
    }
  } finally {
    await handle.close();
  }
}
