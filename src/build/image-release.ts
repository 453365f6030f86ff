/**
 * A Dockerfile source built into an image release: the host's Docker engine builds the image
 * (BuildKit, {@link buildDockerfileImage}), and the image, saved, is the release, so the version
 * can be booted again from blob storage alone.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import { OWNER_LABEL } from '../runtime/docker/engine.js';
import { saveImage, type SavedImage } from '../runtime/docker/image-archive.js';
import { sha256File } from '../util/sha256.js';
import type { DynamicAppPlan } from './app-plan.js';
import type { BuildSettings } from './build-settings.js';
import { contextOwner } from './context-owner.js';
import { localArchiveAdds } from './dockerfile-add.js';
import { dockerBuildContext } from './docker-context.js';
import { buildDockerfileImage } from './dockerfile-build.js';
import type { DynamicRelease } from './dynamic-build.js';
import { DEFAULT_MAX_APP_BYTES } from './dynamic-packager.js';
import { IMAGE_ARCHIVE_ENTRY, packageImageRelease } from './image-release-format.js';

/** Options for {@link buildImageRelease}. */
export interface BuildImageOptions extends BuildSettings {
  /** The engine that builds the image (and keeps it, so the first start needs no load). */
  docker: EngineApi;
  /**
   * The tag the image gets on the engine, for people looking at it (`slipway/<deployment>:v3`);
   * the release names the image by id. Default `slipway/app:<the snapshot's sha256, 16 digits>`.
   */
  imageTag?: string;
  /** Most bytes the saved image may have (default 1 GiB, as for an app tree): `build_output_too_large`. */
  maxOutputBytes?: number;
}

/**
 * Builds `plan` (a Dockerfile plan from `detectApp`, with the source unpacked in
 * `workDir/src`) into an image release at `workDir/release.tar`. The snapshot tar is the build
 * context, less what a `.dockerignore` excludes ({@link dockerBuildContext}). The image is labelled as Slipway's, its build log goes to `onLog` line by
 * line; the build, saving the image included, stops at `timeoutMs` (`build_timeout`) or when
 * `signal` aborts (`interrupted`); the save stops as soon as the image passes `maxOutputBytes`. A base image the engine lacks is `base_image_missing`, a failed step
 * `build_failed`.
 */
export async function buildImageRelease(plan: DynamicAppPlan, options: BuildImageOptions): Promise<DynamicRelease> {
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  const dockerfilePath = plan.dockerfile ?? 'Dockerfile';
  const dockerfile = await readFile(join(options.workDir, 'src', dockerfilePath), 'utf8');
  const tag = options.imageTag ?? `slipway/app:${(await sha256File(options.snapshotPath)).sha256.slice(0, 16)}`;
  const run = plan.runCommand === '' ? "the image's own command" : `\`${plan.runCommand}\``;
  note(`building ${dockerfilePath} into ${tag} with BuildKit on the Docker engine (build steps have no network); run ${run} on port ${plan.port}`);
  const owner = await contextOwner(options.docker);
  if (owner !== null) {
    const archives = await localArchiveAdds(dockerfile, join(options.workDir, 'src'));
    if (archives.length > 0) {
      throw new SlipwayError('build_failed', `${dockerfilePath} ADDs the archive ${archives.join(', ')}, which this engine (user-namespace remapping) would unpack without the files its archive gives to root; copy it with COPY and unpack it with RUN tar instead (or set SLIPWAY_DOCKER_USERNS=off on the host)`, {
        details: { archives },
      });
    }
  }
  const context = await dockerBuildContext({
    srcDir: join(options.workDir, 'src'), snapshotPath: options.snapshotPath, dockerfilePath, outPath: join(options.workDir, 'context.tar'),
    owner,
  });
  if (context.ignored > 0) note(`.dockerignore: ${context.ignored} paths left out of the build context`);
  const started = Date.now();
  // timeoutMs is for the whole build: the save gets what the image build left of it.
  const deadlineAt = started + options.timeoutMs;
  const built = await buildDockerfileImage(options.docker, {
    context: createReadStream(context.path),
    dockerfile,
    dockerfilePath,
    tag,
    labels: { [OWNER_LABEL]: 'true' },
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onLog: (line) => options.onLog(`${line}\n`),
  });
  note(`image ${built.imageId} built in ${Date.now() - started} ms`);

  const stageDir = join(options.workDir, 'image-release');
  await mkdir(stageDir, { recursive: true });
  const imagePath = join(stageDir, IMAGE_ARCHIVE_ENTRY);
  try {
    const saved = await saveWithinLimits(built.imageId, imagePath, { ...options, deadlineAt });
    const manifest: DynamicReleaseManifest = {
      format: 1, kind: 'dynamic', run_command: plan.runCommand, port: plan.port, detected: plan.detected, image: built.imageId,
    };
    const releasePath = join(options.workDir, 'release.tar');
    const digest = await packageImageRelease({ manifest, stageDir, outPath: releasePath });
    note(`packaged the image (${saved.bytes} bytes saved, ${digest.size} bytes compressed, sha256 ${digest.sha256})`);
    return { releasePath, sha256: digest.sha256, size: digest.size, manifest };
  } finally {
    // The saved image is in the release now; the work dir need not hold it twice.
    await rm(stageDir, { recursive: true, force: true });
  }
}

/**
 * Saves the image, stopping as soon as it passes `maxOutputBytes` (`build_output_too_large`),
 * at `deadlineAt` (`build_timeout`) or on `signal` (`interrupted`): a huge image is never
 * written out whole first, and a shutdown does not wait for it.
 */
async function saveWithinLimits(
  imageId: string,
  path: string,
  options: Pick<BuildImageOptions, 'docker' | 'maxOutputBytes' | 'signal' | 'timeoutMs'> & { deadlineAt: number },
): Promise<SavedImage> {
  const deadline = AbortSignal.timeout(Math.max(1, options.deadlineAt - Date.now()));
  const signal = options.signal === undefined ? deadline : AbortSignal.any([deadline, options.signal]);
  try {
    return await saveImage(options.docker, imageId, { path, maxBytes: options.maxOutputBytes ?? DEFAULT_MAX_APP_BYTES, signal });
  } catch (cause) {
    if (options.signal?.aborted) throw new SlipwayError('interrupted', 'the image save was stopped because the server is shutting down', { cause });
    if (deadline.aborted) {
      throw new SlipwayError('build_timeout', `the build (with saving its image) took longer than ${options.timeoutMs} ms`, { cause });
    }
    throw cause;
  }
}
