import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { isSlipwayError } from '../core/errors.js';
import { encodeFileReleaseManifest, fileReleaseBlobs, isFileReleaseManifest } from '../core/release-format.js';
import { sha256Buffer } from '../util/sha256.js';
import { precompress, type Compressor } from './precompress.js';
import { packageFileRelease, parseFileReleaseManifest, type ReleaseBlobSink, type SiteInput } from './static-file-release.js';

/** A blob store in a Map, counting puts. */
function memorySink(): ReleaseBlobSink & { blobs: Map<string, Buffer>; puts: string[] } {
  const blobs = new Map<string, Buffer>();
  const puts: string[] = [];
  return {
    blobs, puts,
    keep: async (sha) => blobs.has(sha),
    put: async (data, sha) => {
      assert.equal(sha256Buffer(data), sha, 'put under its own sha256');
      puts.push(sha);
      blobs.set(sha, data);
    },
  };
}

/** A compressor that counts the files it compressed, by path-independent content. */
function countingCompressor(): { compressor: Compressor; compressed: string[] } {
  const compressed: string[] = [];
  return { compressed, compressor: async (data, sha) => (compressed.push(sha), precompress(data)) };
}

const HTML = `<!doctype html><title>t</title>${'<p>hello static world</p>\n'.repeat(200)}`;
const SITE: Record<string, Buffer> = {
  'index.html': Buffer.from(HTML),
  'assets/app.js': Buffer.from(`export const a = 1;\n${'console.log("x");\n'.repeat(300)}`),
  'assets/style.css': Buffer.from('body{margin:0}\n'.repeat(100)),
  'logo.png': randomBytes(3000),
  'tiny.txt': Buffer.from('a'),
  'package.json': Buffer.from('{}'),
  '.env': Buffer.from('SECRET=1'),
};
const files = (site: Record<string, Buffer>): SiteInput[] => Object.entries(site).map(([path, data]) => ({ path, data, size: data.length }));

test('a site becomes per-file blobs and a canonical manifest; the same files always give the same release', async () => {
  const sink = memorySink();
  const first = await packageFileRelease({ files: files(SITE), sink });
  const manifestBytes = sink.blobs.get(first.sha256)!;
  assert.ok(isFileReleaseManifest(manifestBytes));
  assert.deepEqual(manifestBytes, encodeFileReleaseManifest(first.manifest), 'stored canonical');
  assert.deepEqual(parseFileReleaseManifest(manifestBytes), first.manifest);
  assert.deepEqual(first.manifest.files.map((f) => f.path), ['assets/app.js', 'assets/style.css', 'index.html', 'logo.png', 'tiny.txt']);
  assert.deepEqual(first.leftOut.map((f) => f.path).sort(), ['.env', 'package.json']);

  const html = first.manifest.files.find((f) => f.path === 'index.html')!;
  assert.equal(html.content_type, 'text/html; charset=utf-8');
  assert.deepEqual(sink.blobs.get(html.sha256), SITE['index.html']);
  assert.equal(brotliDecompressSync(sink.blobs.get(html.variants.br!.sha256)!).toString(), HTML);
  assert.equal(gunzipSync(sink.blobs.get(html.variants.gzip!.sha256)!).toString(), HTML);
  assert.deepEqual(first.manifest.files.find((f) => f.path === 'logo.png')!.variants, {}, 'binary: raw only');
  assert.deepEqual(first.manifest.files.find((f) => f.path === 'tiny.txt')!.variants, {}, 'no saving: raw only');
  // Every referenced blob is stored.
  for (const sha of fileReleaseBlobs(first.manifest)) assert.ok(sink.blobs.has(sha), sha);

  // In another order, into another store: the same release.
  const again = await packageFileRelease({ files: files(SITE).reverse(), sink: memorySink() });
  assert.equal(again.sha256, first.sha256);
});

test('a republish with one changed file stores and compresses only that file, reusing the earlier variants', async () => {
  const sink = memorySink();
  const first = await packageFileRelease({ files: files(SITE), sink });
  const putsBefore = sink.puts.length;
  const counting = countingCompressor();
  const changed = { ...SITE, 'index.html': Buffer.from(HTML.replace('hello', 'changed')) };
  const second = await packageFileRelease({ files: files(changed), sink, previous: [first.manifest], compressor: counting.compressor });
  const newHtml = second.manifest.files.find((f) => f.path === 'index.html')!;
  assert.deepEqual(counting.compressed, [newHtml.sha256], 'only the changed file was compressed');
  assert.equal(second.compressed, 1);
  // The raw file, its two variants, then the manifest.
  const put = sink.puts.slice(putsBefore);
  assert.deepEqual(new Set(put), new Set([newHtml.sha256, newHtml.variants.br!.sha256, newHtml.variants.gzip!.sha256, second.sha256]));
  assert.equal(second.stored, 3);
  // Reused variants are the very ones compression makes: the release is the one a fresh packaging gives.
  const fresh = await packageFileRelease({ files: files(changed), sink: memorySink() });
  assert.equal(second.sha256, fresh.sha256);
});

test('an earlier variant whose blob is gone is made again, not referenced', async () => {
  const sink = memorySink();
  const first = await packageFileRelease({ files: files(SITE), sink });
  const css = first.manifest.files.find((f) => f.path === 'assets/style.css')!;
  sink.blobs.delete(css.variants.gzip!.sha256);
  const counting = countingCompressor();
  const second = await packageFileRelease({ files: files(SITE), sink, previous: [first.manifest], compressor: counting.compressor });
  assert.deepEqual(counting.compressed, [css.sha256]);
  assert.equal(second.sha256, first.sha256);
  for (const sha of fileReleaseBlobs(second.manifest)) assert.ok(sink.blobs.has(sha), sha);
});

test('a site of nothing but left-out files is empty_source; static_include keeps them', async () => {
  const only = { 'package.json': Buffer.from('{}'), 'app.js.map': Buffer.from('{}') };
  await assert.rejects(packageFileRelease({ files: files(only), sink: memorySink() }), (e) => isSlipwayError(e, 'empty_source'));
  const kept = await packageFileRelease({ files: files(only), sink: memorySink(), include: ['*.map'] });
  assert.deepEqual(kept.manifest.files.map((f) => f.path), ['app.js.map']);
});
