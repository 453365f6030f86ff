/**
 * Test support for the edge (not used in production code): writes release tars in the format
 * of src/core/release-format.ts with tar@7's own header encoder (so the edge's reader is
 * checked against an independent writer), waits on conditions, and makes HTTP requests.
 */
import { createHash } from 'node:crypto';
import { request, type Agent } from 'node:http';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { contentType } from 'mime-types';
import { Header, Pax } from 'tar';
import { RELEASE_FORMAT_VERSION, type ReleaseEncoding, type ReleaseManifest } from '../../../src/core/release-format.js';

/** One file of a test release. */
export interface TestFile {
  content: string | Buffer;
  /** Defaults to mime-types' guess from the path. */
  contentType?: string;
  /** Precompressed variants to include (none by default). */
  encodings?: ReleaseEncoding[];
  /** Marks the file content-hashed in the manifest (see `ReleaseFile.immutable`). */
  immutable?: true;
}

/** A tar entry before encoding. */
export interface TarInput {
  path: string;
  data: Buffer;
}

/** Encodes entries as a deterministic ustar tar (PAX headers where names do not fit). */
export function writeTar(entries: TarInput[]): Buffer {
  const blocks: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);
  for (const { path, data } of entries) {
    const fields = { path, size: data.length, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0), type: 'File' as const };
    const header = new Header(fields);
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    if (header.needPax) blocks.push(new Pax({ path, size: data.length, mtime: new Date(0) }).encode());
    blocks.push(block, data, pad(data.length));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** sha256 as lowercase hex. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The manifest and tar entries of a release, for tests that tamper before encoding. */
export function releaseEntries(files: Record<string, string | Buffer | TestFile>): { manifest: ReleaseManifest; entries: TarInput[] } {
  const paths = Object.keys(files).sort((a, b) => (Buffer.compare(Buffer.from(a), Buffer.from(b))));
  const manifest: ReleaseManifest = { format: RELEASE_FORMAT_VERSION, kind: 'static', files: [] };
  const bodies: TarInput[] = [];
  const variants: TarInput[] = [];
  for (const path of paths) {
    const input = files[path] as string | Buffer | TestFile;
    const file: TestFile = typeof input === 'string' || Buffer.isBuffer(input) ? { content: input } : input;
    const data = Buffer.from(file.content);
    const encodings = file.encodings ?? [];
    manifest.files.push({
      path,
      size: data.length,
      sha256: sha256Hex(data),
      content_type: file.contentType || contentType(path.split('/').pop() ?? path) || 'application/octet-stream',
      encodings,
      ...(file.immutable ? { immutable: true as const } : {}),
    });
    bodies.push({ path: `files/${path}`, data });
    if (encodings.includes('br')) variants.push({ path: `br/${path}`, data: brotliCompressSync(data) });
    if (encodings.includes('gzip')) variants.push({ path: `gzip/${path}`, data: gzipSync(data) });
  }
  const head = { path: 'release.json', data: Buffer.from(JSON.stringify(manifest)) };
  return { manifest, entries: [head, ...bodies, ...variants] };
}

/** A release tar and its address. */
export interface TestRelease {
  tar: Buffer;
  sha256: string;
}

/** Builds a valid release tar from a path → content map. */
export function buildReleaseTar(files: Record<string, string | Buffer | TestFile>): TestRelease {
  const tar = writeTar(releaseEntries(files).entries);
  return { tar, sha256: sha256Hex(tar) };
}

/** A response read whole. */
export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Options for {@link get}. */
export interface GetOptions {
  host?: string;
  method?: string;
  headers?: Record<string, string>;
  agent?: Agent;
}

/** One request to `127.0.0.1:port`; the raw path is sent as is (no URL normalization). */
export function get(port: number, path: string, options: GetOptions = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false,
        headers: { host: options.host ?? 'localhost', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
