/**
 * Dockerfile → image on a Docker engine with BuildKit, through the Engine API alone (no buildx:
 * the source tar is the request body, which dockerd hands BuildKit as its context). The image id
 * (`sha256:` of the image config) is the release's digest: content-addressed and identical after
 * `docker save` + `docker load` on another engine, so it names the same release everywhere.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { SlipwayError, isSlipwayError } from '../core/errors.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import { TailBuffer } from '../util/tail-buffer.js';
import { dockerfileBaseImages } from './dockerfile-from.js';
import { BuildkitTraceReader } from './dockerfile-trace.js';

/** Options for {@link buildDockerfileImage}. */
export interface DockerfileBuildOptions {
  /** The build context as a tar (plain or gzipped), with the Dockerfile in it. */
  context: Buffer | Readable;
  /** The Dockerfile's text, read before the build to check its base images. */
  dockerfile: string;
  /** Its path inside the context (default `Dockerfile`). */
  dockerfilePath?: string;
  /** The tag to give the image (`slipway/<deployment>:v3`). */
  tag: string;
  /** Labels on the image (Slipway's owner label is the caller's to add). */
  labels?: Record<string, string>;
  /** Build arguments (`--build-arg`). Not secret: they stay in the image's history. */
  buildArgs?: Record<string, string>;
  /** Abort the build after this long (default 15 min): `build_timeout`. */
  timeoutMs?: number;
  /**
   * Aborting stops the build (`interrupted`): the request is dropped, and the engine cancels a
   * build whose client went away.
   */
  signal?: AbortSignal;
  /** Each build-log line as it comes, already without BuildKit's protobuf framing. */
  onLog?: (line: string) => void;
}

/** What a build produced. */
export interface BuiltImage {
  /** `sha256:…`, the image id: the release's digest. */
  imageId: string;
  tag: string;
}

interface BuildMessage {
  stream?: string;
  id?: string;
  aux?: unknown;
  error?: string;
  errorDetail?: { message?: string };
}

// What the engine says when it tried a registry for a base image (DNS failure, refused pull).
const REGISTRY_FAILURE = /registry-1\.docker\.io|failed to do request|pull access denied|failed to resolve source metadata|dial tcp/i;

/**
 * The image a registry request was for, from the URL in the engine's error
 * (`…/v2/library/node/manifests/20-slim` → `node:20-slim`): a base named only at build time
 * (`FROM ${BASE}`) is known by nothing else.
 */
export function imageInRegistryUrl(message: string): string | undefined {
  const match = /\/v2\/(.+?)\/manifests\/([^"\s/]+)/.exec(message);
  if (!match) return undefined;
  const name = (match[1] as string).replace(/^library\//, '');
  const ref = match[2] as string;
  return ref.startsWith('sha256:') ? `${name}@${ref}` : `${name}:${ref}`;
}

function baseImageMissing(image: string, cause?: unknown): SlipwayError {
  return new SlipwayError(
    'base_image_missing',
    `base image ${image} is not on this host's Docker engine, and no image registry can be reached to pull it: load it onto the engine first (docker load or docker import)`,
    { cause, details: { image } },
  );
}

function interrupted(cause?: unknown): SlipwayError {
  return new SlipwayError('interrupted', 'the image build was stopped because the server is shutting down', { cause });
}

/** Fails with `base_image_missing` for the first base image the engine does not have. */
async function checkBaseImages(api: EngineApi, dockerfile: string): Promise<void> {
  for (const image of dockerfileBaseImages(dockerfile)) {
    try {
      await api.json({ method: 'GET', path: `/images/${encodeURIComponent(image)}/json` });
    } catch (err) {
      if (isSlipwayError(err, 'not_found')) throw baseImageMissing(image, err);
      throw err;
    }
  }
}

/**
 * Builds the image with BuildKit and returns its id. Build steps get no network
 * (`networkmode=none`): the engine has no bridge, and a step that needs the network fails in
 * the log. A failed step throws `build_failed` with the log's tail; a base image the engine
 * lacks throws `base_image_missing` before anything runs; past `timeoutMs` it is `build_timeout`
 * and on `signal` `interrupted`, both after dropping the request, which stops the running step.
 */
export async function buildDockerfileImage(api: EngineApi, options: DockerfileBuildOptions): Promise<BuiltImage> {
  if (options.signal?.aborted) throw interrupted();
  await checkBaseImages(api, options.dockerfile);
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;
  const deadline = AbortSignal.timeout(timeoutMs);
  const stop = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  const tail = new TailBuffer(4096);
  const log = (line: string): void => {
    tail.push(Buffer.from(`${line}\n`));
    options.onLog?.(line);
  };
  const trace = new BuildkitTraceReader();
  let imageId: string | null = null;
  let failure: string | null = null;
  let body: Readable | undefined;
  // Dropping the connection is how a build is cancelled: dockerd cancels it with the request.
  const cancel = (): void => {
    body?.destroy(new Error('build cancelled'));
  };
  stop.addEventListener('abort', cancel, { once: true });
  try {
    body = await api.stream({
      method: 'POST',
      path: '/build',
      query: {
        version: '2',
        networkmode: 'none',
        dockerfile: options.dockerfilePath ?? 'Dockerfile',
        t: options.tag,
        labels: options.labels ?? {},
        buildargs: options.buildArgs ?? {},
      },
      tar: options.context,
      timeoutMs,
    });
    if (stop.aborted) cancel();
    for await (const line of createInterface({ input: body, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      const message = JSON.parse(line) as BuildMessage;
      if (message.id === 'moby.buildkit.trace' && typeof message.aux === 'string') trace.read(message.aux).forEach(log);
      else if (message.id === 'moby.image.id') imageId = (message.aux as { ID?: string }).ID ?? null;
      else if (message.stream !== undefined) message.stream.split('\n').filter((l) => l !== '').forEach(log);
      if (message.error !== undefined) failure = message.errorDetail?.message ?? message.error;
    }
  } catch (cause) {
    if (options.signal?.aborted) throw interrupted(cause);
    if (deadline.aborted) {
      throw new SlipwayError('build_timeout', `the image build took longer than ${timeoutMs} ms`, { cause, details: { logTail: tail.toString() } });
    }
    throw cause;
  } finally {
    stop.removeEventListener('abort', cancel);
  }
  // A cancel that landed after the last line still means the build did not finish.
  if (options.signal?.aborted) throw interrupted();
  if (failure !== null) {
    const base = REGISTRY_FAILURE.test(failure) ? (imageInRegistryUrl(failure) ?? dockerfileBaseImages(options.dockerfile)[0]) : undefined;
    if (base !== undefined) throw baseImageMissing(base, new Error(failure));
    throw new SlipwayError('build_failed', `the image build failed: ${failure}`, { details: { logTail: tail.toString() } });
  }
  if (imageId === null) {
    throw new SlipwayError('build_failed', 'the engine finished the build without naming an image', { details: { logTail: tail.toString() } });
  }
  return { imageId, tag: options.tag };
}
