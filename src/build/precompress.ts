import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { ReleaseEncoding } from '../core/release-format.js';

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * Brotli 5 and gzip 6 trade a little size for speed: publish latency matters more than the
 * last few percent (brotli 11 is ~20× slower for ~10% less).
 */
export const BROTLI_QUALITY = 5;
export const GZIP_LEVEL = 6;

/** A variant is kept only when it is at most this fraction of the original (saves ≥ 5%). */
export const MIN_SAVING_RATIO = 0.95;

/**
 * Computes the brotli and gzip variants of `data` on the libuv thread pool (the async zlib
 * APIs never block the event loop), keeping those that save at least 5%. The output depends
 * only on the input bytes (and the zlib build), so releases stay reproducible.
 */
export async function precompress(data: Buffer): Promise<Partial<Record<ReleaseEncoding, Buffer>>> {
  if (data.length === 0) return {};
  const [br, gz] = await Promise.all([
    brotliAsync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        // The default 4 MiB window is allocated for every call; most site files are a few KiB,
        // and sizing the window to the input made a 200-file site compress ~2× faster.
        [constants.BROTLI_PARAM_LGWIN]: windowBits(data.length),
      },
    }),
    gzipAsync(data, { level: GZIP_LEVEL }),
  ]);
  const limit = data.length * MIN_SAVING_RATIO;
  const out: Partial<Record<ReleaseEncoding, Buffer>> = {};
  if (br.length <= limit) out.br = br;
  if (gz.length <= limit) out.gzip = gz;
  return out;
}

/** log2 of the smallest window holding the whole input, within brotli's useful range 16–22. */
function windowBits(size: number): number {
  return Math.min(22, Math.max(16, Math.ceil(Math.log2(size + 1))));
}

/** Computes the variants of a file whose sha256 is already known. */
export type Compressor = (data: Buffer, sha256: string) => Promise<Partial<Record<ReleaseEncoding, Buffer>>>;

/**
 * A compressor that remembers its results by content hash, within `maxBytes` of compressed
 * output (least recently used first out). Most publishes change a few files of many; their
 * unchanged files then cost a hash lookup instead of brotli and gzip. The results are the
 * same bytes `precompress` would make, so releases stay reproducible.
 */
export function createCachingCompressor(maxBytes = 64 * 1024 * 1024): Compressor {
  const cache = new Map<string, { variants: Partial<Record<ReleaseEncoding, Buffer>>; bytes: number }>();
  let total = 0;
  return async (data, sha256) => {
    const hit = cache.get(sha256);
    if (hit) {
      cache.delete(sha256);
      cache.set(sha256, hit);
      return hit.variants;
    }
    const variants = await precompress(data);
    const bytes = (variants.br?.length ?? 0) + (variants.gzip?.length ?? 0);
    if (bytes > maxBytes) return variants;
    cache.set(sha256, { variants, bytes });
    total += bytes;
    for (const [key, entry] of cache) {
      if (total <= maxBytes) break;
      cache.delete(key);
      total -= entry.bytes;
    }
    return variants;
  };
}
