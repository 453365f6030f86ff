/**
 * The image variant of a dynamic release (see {@link DynamicReleaseManifest.image}): a gzipped
 * tar of `release.json` then `image.tar`, the image as `docker save` writes it. Stored in blob
 * storage like any release, so a version built from a Dockerfile stays bootable after the
 * engine pruned its image, or on a host whose engine never had it.
 */
import type { Stats } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { SlipwayError } from '../core/errors.js';
import { RELEASE_MANIFEST_ENTRY } from '../core/release-format.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import type { Digest } from '../util/sha256.js';
import { statWithMode, writeReleaseTgz } from './archive/release-tgz.js';
import { readTar } from './archive/tar-reader.js';
import { readReleaseManifest } from './dynamic-release-reader.js';

/** The entry of an image release that holds the saved image. */
export const IMAGE_ARCHIVE_ENTRY = 'image.tar';

/** Options for {@link packageImageRelease}. */
export interface PackageImageOptions {
  /** Must name the image (`manifest.image`). */
  manifest: DynamicReleaseManifest;
  /** A directory holding the saved image as {@link IMAGE_ARCHIVE_ENTRY}; `release.json` is written beside it. */
  stageDir: string;
  outPath: string;
}

/**
 * Writes an image release: `release.json` first (as in every dynamic release, so a reader knows
 * what it holds before the large part), then the saved image, gzipped, with fixed modes and
 * mtime 0 so the same image gives the same bytes.
 */
export async function packageImageRelease(options: PackageImageOptions): Promise<Digest> {
  if (options.manifest.image === undefined) throw new SlipwayError('internal_error', 'an image release needs the image id in its manifest');
  const manifestPath = join(options.stageDir, RELEASE_MANIFEST_ENTRY);
  await writeFile(manifestPath, `${JSON.stringify(options.manifest, null, 2)}\n`, { mode: 0o644 });
  // Our own stats, normalized, stand in for the ones node-tar would take itself.
  const paths = [RELEASE_MANIFEST_ENTRY, IMAGE_ARCHIVE_ENTRY];
  const statCache = new Map<string, Stats>();
  for (const name of paths) statCache.set(join(options.stageDir, name), await statWithMode(join(options.stageDir, name), 0o644));
  return writeReleaseTgz({ cwd: options.stageDir, paths, statCache, outPath: options.outPath });
}

/**
 * Reads an image release: checks its manifest (it must name an image) and writes the saved
 * image to `imagePath`. Anything but `release.json` then `image.tar` is `invalid_archive`; on
 * failure nothing is left at `imagePath`.
 */
export async function extractImageArchive(releasePath: string, imagePath: string): Promise<DynamicReleaseManifest> {
  let manifest: DynamicReleaseManifest | undefined;
  let wrote = false;
  let index = 0;
  try {
    await readTar({
      archivePath: releasePath,
      gzip: true,
      onEntry: async (entry) => {
        const at = index++;
        if (at === 0) {
          manifest = await readReleaseManifest(entry);
          if (manifest.image === undefined) throw invalid('it holds an app tree, not an image');
          return;
        }
        if (at > 1 || entry.path !== IMAGE_ARCHIVE_ENTRY || entry.type !== 'File') {
          throw invalid(`expected ${IMAGE_ARCHIVE_ENTRY} after ${RELEASE_MANIFEST_ENTRY} and nothing else, found ${entry.path}`);
        }
        await pipeline(entry, createWriteStream(imagePath, { mode: 0o600 }));
        wrote = true;
      },
    });
    if (manifest === undefined) throw invalid('the release is empty');
    if (!wrote) throw invalid(`it has no ${IMAGE_ARCHIVE_ENTRY}`);
    return manifest;
  } catch (err) {
    await rm(imagePath, { force: true });
    throw err;
  }
}

function invalid(message: string): SlipwayError {
  return new SlipwayError('invalid_archive', `image release: ${message}`);
}
