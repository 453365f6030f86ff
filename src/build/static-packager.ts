import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { SlipwayError } from '../core/errors.js';
import {
  RELEASE_ENCODINGS,
  RELEASE_FORMAT_VERSION,
  RELEASE_MANIFEST_ENTRY,
  type ReleaseEncoding,
  type ReleaseFile,
  type ReleaseManifest,
} from '../core/release-format.js';
import { mapConcurrent } from '../util/map-concurrent.js';
import { sha256Buffer, sha256File, type Digest } from '../util/sha256.js';
import { compareBytes } from './archive/entry-path.js';
import { writeDeterministicTar, type TarEntry } from './archive/deterministic-tar.js';
import { contentTypeFor, isCompressible } from './content-type.js';
import { hashedOutputOf, isImmutableAsset, type HashedOutput } from './hashed-assets.js';
import { precompress, type Compressor } from './precompress.js';
import { createIncludeMatcher, leftOutReason } from './release-filter.js';
import { collectTree, type SkippedPath, type TreeFile } from './source-tree.js';

/** Options for {@link packageStaticRelease}. */
export interface PackageStaticOptions {
  /** The built site: its files are served at their paths relative to here. */
  siteDir: string;
  /** Where the release tar is written (replaced if present). */
  outPath: string;
  /** How variants are made; a caching compressor saves the work for unchanged files. */
  compressor?: Compressor;
  /**
   * Raw bytes and variants held between compressing and writing the tar; past it they wait
   * on disk beside `outPath` instead. Default {@link KEEP_BUDGET_BYTES}.
   */
  keepBytes?: number;
  /**
   * Globs of files kept even though the release rules leave them out (`*.map`, `.nojekyll`;
   * see `createIncludeMatcher`).
   */
  include?: readonly string[];
  /**
   * The framework that built the site (the plan's `detected`): only the hashed output of a
   * framework that hashes its names is marked `immutable` (see `HASHED_OUTPUT`). Absent, or
   * `static`, `as-is` or a framework without hashed output: nothing is.
   */
  framework?: string;
  /**
   * The source root the site was built from: a file that is also in the framework's verbatim
   * folder there (`public/assets/logo.png` for `assets/logo.png`) was copied, not hashed, so it
   * is never marked. Absent: no file is taken for a copy.
   */
  sourceDir?: string;
}

/** A written static release. */
export interface StaticPackage extends Digest {
  manifest: ReleaseManifest;
  /** Symlinks and odd entries left out (see `collectTree`). */
  skipped: SkippedPath[];
  /** Files never served, left out by rule (see `leftOutReason`), with the rule. */
  leftOut: SkippedPath[];
}

/**
 * Files up to this size are read once into memory, hashed, compressed and written from that
 * buffer; larger ones are hashed and copied as streams and served raw (big assets are nearly
 * always media that is compressed already).
 */
const MAX_IN_MEMORY_BYTES = 8 * 1024 * 1024;

/**
 * Bytes kept between reading and writing the tar: raw files (skipping a second read) and
 * precompressed variants. Variants past it are written to a spill directory, so a site of
 * many compressible files never holds all its variants in memory at once.
 */
const KEEP_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Compression runs on the libuv pool (4 threads by default); a few extra calls in flight keep
 * it busy while the main thread reads and hashes the next files.
 */
const CONCURRENCY = Math.max(4, availableParallelism() * 2);

/**
 * Packages a static site as a release tar in the format of `core/release-format.ts`. Entry
 * order: `release.json` first, then every other entry sorted by its full name in byte order,
 * which groups them as all `br/…`, then all `files/…`, then all `gzip/…`, each group in path
 * order. Raw files are 0644 whatever their mode on disk. Text-like types get brotli and gzip
 * variants when they save at least 5%. Files never to be served (`leftOutReason`) are left out
 * unless `include` keeps them; the content-hashed output of `framework` is marked `immutable`
 * (see `immutableTest`). Identical trees give byte-identical tars. A site with no files is
 * `empty_source`.
 */
export async function packageStaticRelease(options: PackageStaticOptions): Promise<StaticPackage> {
  const tree = await collectTree({ root: options.siteDir });
  const { files, leftOut } = applyReleaseRules(tree.files, options.include ?? []);
  const skipped = tree.skipped;
  const isImmutable = immutableTest(options);
  if (files.length === 0) {
    const more = leftOut.length ? ` (${leftOut.length} left out by rule: ${leftOut.slice(0, 3).map((f) => f.path).join(', ')})` : '';
    throw new SlipwayError('empty_source', `the site has no files to serve${more}`);
  }

  const entries: TarEntry[] = [];
  const budget = options.keepBytes ?? KEEP_BUDGET_BYTES;
  let kept = 0;
  const spill = createSpill(options.outPath);
  try {
    const manifestFiles = await mapConcurrent(files, CONCURRENCY, async (file) => {
      const { record, data, variants } = await describeFile(file, options.compressor ?? ((d) => precompress(d)));
      if (await isImmutable(file.path)) record.immutable = true;
      const keep = data !== undefined && kept + data.length <= budget;
      if (keep) kept += data.length;
      entries.push(keep ? { path: `files/${file.path}`, data } : { path: `files/${file.path}`, file: file.absPath });
      for (const encoding of record.encodings) {
        const variant = variants[encoding] as Buffer;
        const path = `${encoding}/${file.path}`;
        if (kept + variant.length <= budget) {
          kept += variant.length;
          entries.push({ path, data: variant });
        } else {
          entries.push({ path, file: await spill.write(variant) });
        }
      }
      return record;
    });
    const manifest: ReleaseManifest = { format: RELEASE_FORMAT_VERSION, kind: 'static', files: manifestFiles };
    entries.sort((a, b) => compareBytes(a.path, b.path));
    entries.unshift({ path: RELEASE_MANIFEST_ENTRY, data: Buffer.from(JSON.stringify(manifest)) });
    const digest = await writeDeterministicTar(entries, options.outPath);
    return { ...digest, manifest, skipped, leftOut };
  } finally {
    await spill.remove();
  }
}

/** A directory beside the release for variants past the keep budget, made on first use. */
function createSpill(outPath: string): { write(data: Buffer): Promise<string>; remove(): Promise<void> } {
  const dir = `${outPath}.spill-${randomBytes(6).toString('hex')}`;
  let made: Promise<unknown> | null = null;
  let count = 0;
  return {
    async write(data) {
      made ??= mkdir(dir, { mode: 0o700 });
      await made;
      const file = join(dir, String(count++));
      await writeFile(file, data, { mode: 0o600 });
      return file;
    },
    remove: () => (made === null ? Promise.resolve() : rm(dir, { recursive: true, force: true })),
  };
}

interface DescribedFile {
  record: ReleaseFile;
  /** The raw bytes, when the file was small enough to read whole. */
  data?: Buffer;
  variants: Partial<Record<ReleaseEncoding, Buffer>>;
}

async function describeFile(file: TreeFile, compress: Compressor): Promise<DescribedFile> {
  const contentType = contentTypeFor(file.path);
  if (file.size > MAX_IN_MEMORY_BYTES) {
    const { sha256, size } = await sha256File(file.absPath);
    const record: ReleaseFile = { path: file.path, size, sha256, content_type: contentType, encodings: [] };
    return { record, variants: {} };
  }
  const data = await readFile(file.absPath);
  const sha256 = sha256Buffer(data);
  const variants = isCompressible(contentType) ? await compress(data, sha256) : {};
  const encodings = RELEASE_ENCODINGS.filter((e) => variants[e] !== undefined);
  const record: ReleaseFile = { path: file.path, size: data.length, sha256, content_type: contentType, encodings };
  return { record, data, variants };
}

/**
 * Whether a site file gets `immutable`: hashed output of the framework that built it, and not
 * a copy from the source's verbatim folder (Vite copies `public/` as it is, so a
 * `public/assets/app-Bx1kQ2zY.js` keeps its name and may change under it).
 */
export function immutableTest(options: Pick<PackageStaticOptions, 'framework' | 'sourceDir'>): (path: string) => Promise<boolean> {
  const output: HashedOutput | undefined = hashedOutputOf(options.framework);
  const verbatimDir = output === undefined || options.sourceDir === undefined
    ? undefined
    : join(options.sourceDir, output.verbatimFolder);
  return async (path) => {
    if (!isImmutableAsset(path, output)) return false;
    if (verbatimDir === undefined) return true;
    try {
      await lstat(join(verbatimDir, ...path.split('/')));
      return false;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return true;
      throw err;
    }
  };
}

/** Splits the tree into what is served and what the release rules leave out. */
function applyReleaseRules(files: TreeFile[], include: readonly string[]): { files: TreeFile[]; leftOut: SkippedPath[] } {
  const kept: TreeFile[] = [];
  const leftOut: SkippedPath[] = [];
  const included = createIncludeMatcher(include);
  for (const file of files) {
    const reason = leftOutReason(file.path);
    if (reason === null || included(file.path)) kept.push(file);
    else leftOut.push({ path: file.path, reason });
  }
  return { files: kept, leftOut };
}
