import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SlipwayError } from '../core/errors.js';
import { isFileReleaseManifest } from '../core/release-format.js';
import { isSha256Hex } from '../util/sha256.js';

/** Where a release's bytes come from: the edge's disk cache and the server's blob endpoint. */
export interface ReleaseSourceConfig {
  stateDir: string;
  /** Base URL of `slipway server` (`http://127.0.0.1:8080`). */
  serverUrl: string;
  /** An internal API key; sent as a Bearer token, never logged. */
  token: string;
  /** Gives up on a blob download after this long (default 120 s). */
  fetchTimeoutMs?: number;
}

/** Throws unless `sha256` is 64 lowercase hex: it becomes a file name and a URL segment. */
export function assertSha256(sha256: string): void {
  if (!isSha256Hex(sha256)) {
    throw new SlipwayError('invalid_request', 'not a sha256', { details: { sha256 } });
  }
}

/** `<stateDir>/releases/<sha256>.tar`. */
export function releaseFilePath(stateDir: string, sha256: string): string {
  assertSha256(sha256);
  return join(stateDir, 'releases', `${sha256}.tar`);
}

/** `<stateDir>/releases/<sha256>.json`: the manifest of a format-2 release (src/core/release-format.ts). */
export function releaseManifestPath(stateDir: string, sha256: string): string {
  assertSha256(sha256);
  return join(stateDir, 'releases', `${sha256}.json`);
}

/**
 * Downloads a release blob from `GET {serverUrl}/api/v1/internal/blobs/{sha256}` into
 * `<stateDir>/releases/`: a tar (format 1) as `<sha256>.tar`, a format-2 manifest (first byte
 * `{`) as `<sha256>.json`. Returns the path.
 */
export async function downloadRelease(config: ReleaseSourceConfig, sha256: string): Promise<string> {
  const tarPath = releaseFilePath(config.stateDir, sha256);
  await mkdir(join(config.stateDir, 'releases'), { recursive: true });
  let manifest = false;
  await downloadBlob(config, sha256, {
    path: tarPath,
    placeBy: (head) => {
      manifest = isFileReleaseManifest(head);
      return manifest ? releaseManifestPath(config.stateDir, sha256) : tarPath;
    },
  });
  return manifest ? releaseManifestPath(config.stateDir, sha256) : tarPath;
}

/**
 * Downloads blob `sha256` from `GET {serverUrl}/api/v1/internal/blobs/{sha256}` straight to
 * `path` (or where `placeBy` says once it has seen the first bytes), hashing it on the way, so
 * a blob of any size costs a few stream buffers of memory. The file appears under its name
 * (atomic rename, after an fsync) only once its bytes match it. Throws `blob_not_found` (404),
 * `unauthorized` (401/403), `unavailable` (network, timeout, other statuses) or `blob_corrupt`
 * (bytes do not match the address); nothing is left behind on failure. The directory must exist.
 */
export async function downloadBlob(
  config: ReleaseSourceConfig,
  sha256: string,
  target: { path: string; placeBy?: (head: Buffer) => string },
): Promise<void> {
  assertSha256(sha256);
  const { path, placeBy } = target;
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const url = `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/blobs/${sha256}`;
  const hash = createHash('sha256');
  let head: Buffer | null = null;
  try {
    try {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${config.token}` },
        signal: AbortSignal.timeout(config.fetchTimeoutMs ?? 120_000),
      });
      if (res.status !== 200 || res.body === null) {
        await res.body?.cancel();
        throw blobAnswerError(res.status, sha256);
      }
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          head ??= chunk.subarray(0, 1);
          hash.update(chunk);
          done(null, chunk);
        },
      });
      const out = createWriteStream(temp, { mode: 0o644, flush: true });
      await pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), hashing, out);
    } catch (err) {
      if (err instanceof SlipwayError) throw err;
      throw new SlipwayError('unavailable', 'release download failed', { cause: err, details: { sha256 } });
    }
    if (hash.digest('hex') !== sha256) {
      throw new SlipwayError('blob_corrupt', 'downloaded blob does not match its sha256', { details: { sha256 } });
    }
    await rename(temp, placeBy === undefined ? path : placeBy(head ?? Buffer.alloc(0)));
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** The error for a blob endpoint's non-200 answer. */
export function blobAnswerError(status: number, sha256: string | null): SlipwayError {
  const code = status === 404 ? 'blob_not_found' : status === 401 || status === 403 ? 'unauthorized' : 'unavailable';
  return new SlipwayError(code, `blob download answered ${status}`, { details: { status, ...(sha256 === null ? {} : { sha256 }) } });
}
