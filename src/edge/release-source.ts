import { createHash } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError, toSlipwayError } from '../core/errors.js';
import { writeFileAtomic } from './atomic-write.js';
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

function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Reads a cached release and checks its bytes against the name. A file whose bytes do not
 * match (a torn disk, a bit flip) is deleted and reported as `corrupt`, so the caller fetches
 * a good copy instead of serving or keeping a bad one.
 */
export async function readCachedRelease(stateDir: string, sha256: string): Promise<Buffer | 'missing' | 'corrupt'> {
  const path = releaseFilePath(stateDir, sha256);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw toSlipwayError(err);
  }
  if (sha256Of(bytes) === sha256) return bytes;
  await rm(path, { force: true });
  return 'corrupt';
}

/** Stores verified release bytes in the disk cache (temp + rename). */
export async function writeCachedRelease(stateDir: string, sha256: string, bytes: Buffer): Promise<void> {
  const path = releaseFilePath(stateDir, sha256);
  await mkdir(join(stateDir, 'releases'), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/**
 * Downloads a release from `GET {serverUrl}/api/v1/internal/blobs/{sha256}` and verifies it.
 * Throws `blob_not_found` (404), `unauthorized` (401/403), `unavailable` (network, timeout,
 * other statuses) or `blob_corrupt` (bytes do not match the address).
 */
export async function fetchRelease(config: ReleaseSourceConfig, sha256: string): Promise<Buffer> {
  assertSha256(sha256);
  const url = `${config.serverUrl.replace(/\/+$/, '')}/api/v1/internal/blobs/${sha256}`;
  let bytes: Buffer;
  try {
    const res = await fetch(url, {
      headers: { authorization: `Bearer ${config.token}` },
      signal: AbortSignal.timeout(config.fetchTimeoutMs ?? 120_000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      const { status } = res;
      const code = status === 404 ? 'blob_not_found' : status === 401 || status === 403 ? 'unauthorized' : 'unavailable';
      throw new SlipwayError(code, `release download answered ${status}`, { details: { sha256, status } });
    }
    bytes = Buffer.from(await res.arrayBuffer());
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('unavailable', 'release download failed', { cause: err, details: { sha256 } });
  }
  if (sha256Of(bytes) !== sha256) {
    throw new SlipwayError('blob_corrupt', 'downloaded release does not match its sha256', { details: { sha256 } });
  }
  return bytes;
}
