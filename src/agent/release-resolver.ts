import { SlipwayError } from '../core/errors.js';
import type { InstanceAssignment } from '../core/runtime.js';
import type { InstanceRelease } from '../runtime/runtime-driver.js';
import type { ImageStore } from './image-store.js';
import type { ReleaseStore } from './release-store.js';

/** What an assignment's release is resolved from: the release name and its image, if any. */
export type ReleaseRef = Pick<InstanceAssignment, 'artifact_sha256' | 'image'>;

/**
 * The supervisor's `release`: an image release is made sure to be on the engine
 * ({@link ImageStore}); any other is unpacked as a tree ({@link ReleaseStore}). Without an image
 * store (no Docker engine on this host) an image release fails with `unavailable`, naming the
 * setting that gives the host one, and `details.retryable` false: retrying cannot give this agent
 * an engine, so the supervisor fails the instance at once.
 */
export function createReleaseResolver(releases: ReleaseStore, images: ImageStore | null): (ref: ReleaseRef) => Promise<InstanceRelease> {
  return async (ref) => {
    if (!ref.image) return { kind: 'tree', appDir: await releases.appDir(ref.artifact_sha256) };
    if (images === null) {
      throw new SlipwayError('unavailable', "this host's agent has no container driver (SLIPWAY_RUNTIME_DRIVER=docker) to run an image built from a Dockerfile", {
        details: { image: ref.image, retryable: false },
      });
    }
    return images.ensureImage(ref.artifact_sha256, ref.image);
  };
}
