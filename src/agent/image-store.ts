import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { extractImageArchive } from '../build/image-release-format.js';
import { SlipwayError } from '../core/errors.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import { hasImage, loadImage } from '../runtime/docker/image-archive.js';
import type { ImageRelease } from '../runtime/runtime-driver.js';
import { Sha256Tap } from '../util/sha256.js';
import type { ControlPlaneClient } from './control-plane-client.js';

/**
 * Images of releases built from a Dockerfile, on this host's Docker engine. The engine keeps
 * what it built or loaded, so an image is usually there at once; when it is not (pruned, or a
 * host whose engine never built it) it is loaded back from the release blob, which holds the
 * saved image, so every version stays bootable without a registry. The release's image id is
 * content-addressed: the loaded image must have exactly that id, or it is not the release.
 */
export class ImageStore {
  private readonly inflight = new Map<string, Promise<ImageRelease>>();

  /** `dir` holds the temporary files of a load (the release and the image archive in it). */
  constructor(private readonly dir: string, private readonly client: ControlPlaneClient, private readonly api: EngineApi) {}

  /**
   * The image of release `sha256` (whose manifest names `imageId`), loaded onto the engine
   * first when the engine lacks it. Calls for one image while a load runs share that load.
   */
  ensureImage(sha256: string, imageId: string): Promise<ImageRelease> {
    let p = this.inflight.get(imageId);
    if (!p) {
      p = this.ensure(sha256, imageId).finally(() => this.inflight.delete(imageId));
      this.inflight.set(imageId, p);
    }
    return p;
  }

  private async ensure(sha256: string, imageId: string): Promise<ImageRelease> {
    const release: ImageRelease = { kind: 'image', image: imageId };
    if (await hasImage(this.api, imageId)) return release;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmpRelease = join(this.dir, `.${sha256}.${process.pid}.download`);
    const tmpImage = join(this.dir, `.${sha256}.${process.pid}.image.tar`);
    try {
      const body = await this.client.download(sha256, AbortSignal.timeout(10 * 60_000));
      const tap = new Sha256Tap();
      await pipeline(Readable.fromWeb(body as WebReadableStream<Uint8Array>), tap, createWriteStream(tmpRelease, { mode: 0o600 }));
      const digest = tap.digest();
      if (digest.sha256 !== sha256) throw new SlipwayError('invalid_archive', `release ${sha256} arrived with sha256 ${digest.sha256}`);
      const manifest = await extractImageArchive(tmpRelease, tmpImage);
      await rm(tmpRelease, { force: true });
      if (manifest.image !== imageId) {
        throw new SlipwayError('invalid_archive', `release ${sha256} holds image ${manifest.image ?? 'none'}, not ${imageId}`, {
          details: { sha256, expected: imageId, found: manifest.image ?? null },
        });
      }
      const loaded = await loadImage(this.api, tmpImage);
      // `docker load` names an untagged image by id; check the engine too, in case it named only tags.
      if (!loaded.includes(imageId) && !(await hasImage(this.api, imageId))) {
        throw new SlipwayError('invalid_archive', `release ${sha256} loaded as ${loaded.join(', ') || 'nothing'}, not ${imageId}`, {
          details: { sha256, expected: imageId, loaded },
        });
      }
      return release;
    } finally {
      await rm(tmpRelease, { force: true });
      await rm(tmpImage, { force: true });
    }
  }
}
