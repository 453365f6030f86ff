/**
 * An image as a file: `docker save` into a tar that goes into blob storage with the release, and
 * `docker load` back onto an engine that lacks it (pruned, or another host), so every version
 * stays bootable without any registry.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SlipwayError, isSlipwayError } from '../../core/errors.js';
import type { EngineApi } from './engine-api.js';

/** The saved archive's facts. */
export interface SavedImage {
  path: string;
  /** sha256 of the tar (hex): the blob's address. Not the image id. */
  sha256: string;
  bytes: number;
}

/** Where {@link saveImage} writes, and when it stops. */
export interface SaveImageOptions {
  /** The tar's path. */
  path: string;
  /**
   * Most bytes the tar may have: the save stops as soon as more arrive, with
   * `build_output_too_large`, instead of writing a huge image out first.
   */
  maxBytes?: number;
  /**
   * Aborting stops the save at once (the request is dropped) and rejects with the signal's
   * reason, so a caller's deadline or shutdown covers the save as well as the build.
   */
  signal?: AbortSignal;
}

/**
 * Writes image `image` (an id or a tag) as a `docker save` tar to `options.path`. On a failure
 * or an abort the partial file may be left: it is the caller's to remove.
 */
export async function saveImage(api: EngineApi, image: string, options: SaveImageOptions): Promise<SavedImage> {
  const { path, maxBytes = Number.POSITIVE_INFINITY, signal } = options;
  signal?.throwIfAborted();
  const body = await api.stream({ method: 'GET', path: `/images/${encodeURIComponent(image)}/get` });
  const hash = createHash('sha256');
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        done(new SlipwayError('build_output_too_large', `the image is larger than ${maxBytes} bytes: its save was stopped at ${bytes} bytes`, {
          details: { limit: maxBytes, bytes },
        }));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // pipeline destroys every stream on an error or an abort, which drops the engine's request.
  const out = createWriteStream(path, { mode: 0o600 });
  try {
    await (signal === undefined ? pipeline(body, count, out) : pipeline(body, count, out, { signal }));
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
  return { path, sha256: hash.digest('hex'), bytes };
}

/**
 * `docker import`: makes a one-layer image `options.ref` from a root file system tar (from
 * `mmdebstrap --format=tar`, or a static binary), the way base images reach an engine that no
 * registry can feed. `changes` are Dockerfile lines applied to it (`CMD ["/bin/sh"]`, `USER app`).
 * Returns the image id.
 */
export async function importRootfs(api: EngineApi, rootfs: Buffer | Readable, options: { ref: string; changes?: string[] }): Promise<string> {
  const { ref, changes = [] } = options;
  const [repo, tag = 'latest'] = splitRef(ref);
  const query = { fromSrc: '-', repo, tag, changes };
  const body = await api.stream({ method: 'POST', path: '/images/create', query, tar: rootfs });
  let id: string | null = null;
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const message = JSON.parse(line) as { status?: string; error?: string };
    if (message.error !== undefined) throw new SlipwayError('invalid_archive', `the engine could not import ${ref}: ${message.error}`);
    if (message.status?.startsWith('sha256:')) id = message.status.trim();
  }
  if (id === null) throw new SlipwayError('internal_error', `the engine imported ${ref} without naming an image id`);
  return id;
}

// `name:tag` → [name, tag]; a colon inside a registry host's port is not a tag.
function splitRef(ref: string): [string, string | undefined] {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, undefined];
}

/** True when the engine has image `image` (an id or a tag). */
export async function hasImage(api: EngineApi, image: string): Promise<boolean> {
  try {
    await api.json({ method: 'GET', path: `/images/${encodeURIComponent(image)}/json` });
    return true;
  } catch (err) {
    if (isSlipwayError(err, 'not_found')) return false;
    throw err;
  }
}

/**
 * Loads a `docker save` tar onto the engine; returns what it reports loaded (`sha256:…` ids
 * and `name:tag` references). A broken archive throws `invalid_archive`.
 */
export async function loadImage(api: EngineApi, path: string): Promise<string[]> {
  const body = await api.stream({ method: 'POST', path: '/images/load', query: { quiet: true }, tar: createReadStream(path) });
  const loaded: string[] = [];
  for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
    if (line.trim() === '') continue;
    const message = JSON.parse(line) as { stream?: string; error?: string; errorDetail?: { message?: string } };
    if (message.error !== undefined) {
      throw new SlipwayError('invalid_archive', `the engine could not load the image archive: ${message.errorDetail?.message ?? message.error}`, {
        details: { path },
      });
    }
    const match = /^Loaded image(?: ID)?: (\S+)/.exec(message.stream ?? '');
    if (match) loaded.push(match[1] as string);
  }
  return loaded;
}
