/**
 * Test support (not used in production code): builds format-2 static releases
 * (src/core/release-format.ts) — a manifest blob plus one blob per file and variant — before
 * and independently of the server's packager, and puts them where an edge can fetch them.
 */
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { contentType } from 'mime-types';
import {
  FILE_RELEASE_FORMAT,
  encodeFileReleaseManifest,
  type FileReleaseEntry,
  type FileReleaseManifest,
} from '../../../src/core/release-format.js';
import { sha256Hex, type TestFile } from './test-helpers.js';

/** A format-2 release: the manifest, its bytes and address, and every blob it names. */
export interface TestFileRelease {
  manifest: FileReleaseManifest;
  /** The canonical manifest bytes: the release blob. */
  bytes: Buffer;
  sha256: string;
  /** Every file and variant blob, by sha256. */
  blobs: Map<string, Buffer>;
}

/** Builds a format-2 release from a path → content map (as `buildReleaseTar` does for format 1). */
export function buildFileRelease(files: Record<string, string | Buffer | TestFile>): TestFileRelease {
  const blobs = new Map<string, Buffer>();
  const put = (data: Buffer) => {
    const sha256 = sha256Hex(data);
    blobs.set(sha256, data);
    return { sha256, size: data.length };
  };
  const entries: FileReleaseEntry[] = [];
  for (const [path, input] of Object.entries(files)) {
    const file: TestFile = typeof input === 'string' || Buffer.isBuffer(input) ? { content: input } : input;
    const data = Buffer.from(file.content);
    const encodings = file.encodings ?? [];
    const { sha256, size } = put(data);
    const entry: FileReleaseEntry = {
      path, size, sha256,
      content_type: file.contentType || contentType(path.split('/').pop() ?? path) || 'application/octet-stream',
      variants: {},
    };
    // The same compressors and levels as buildReleaseTar, so both formats carry identical bytes.
    if (encodings.includes('br')) entry.variants.br = put(brotliCompressSync(data));
    if (encodings.includes('gzip')) entry.variants.gzip = put(gzipSync(data));
    if (file.immutable) entry.immutable = true;
    entries.push(entry);
  }
  const manifest: FileReleaseManifest = { format: FILE_RELEASE_FORMAT, kind: 'static', files: entries };
  const bytes = encodeFileReleaseManifest(manifest);
  return { manifest: JSON.parse(bytes.toString()) as FileReleaseManifest, bytes, sha256: sha256Hex(bytes), blobs };
}

/** Puts a release's manifest and blobs into a blob map (the fake control plane's `blobs`). */
export function putFileRelease(blobs: Map<string, Buffer>, release: TestFileRelease): void {
  blobs.set(release.sha256, release.bytes);
  for (const [sha, data] of release.blobs) blobs.set(sha, data);
}
