import { createHash } from 'node:crypto';
import { SlipwayError } from '../../../src/core/errors.js';
import { RELEASE_MANIFEST_ENTRY } from '../../../src/core/release-format.js';
import { readTarEntries } from '../../../src/util/tar-entries.js';
import { parseReleaseManifest } from '../../../src/edge/release-manifest.js';
import { SiteBuilder } from '../../../src/edge/site-builder.js';
import type { Site } from '../../../src/edge/site.js';

function invalid(message: string, details: Record<string, unknown> = {}): SlipwayError {
  return new SlipwayError('invalid_archive', `release tar: ${message}`, { details });
}

/**
 * For tests: parses a release tar held in memory (src/core/release-format.ts) into a {@link Site} whose
 * bodies all stay in memory as zero-copy views into `releaseTar` (no disk behind it). The
 * edge loads releases from disk instead (`release-reader.ts`); both check the same things
 * before returning, so a corrupt release is refused as a whole with `invalid_archive`.
 */
export function loadSite(releaseTar: Buffer): Site {
  const entries = readTarEntries(releaseTar);
  const first = entries[0];
  if (first === undefined || first.path !== RELEASE_MANIFEST_ENTRY) {
    throw invalid(`${RELEASE_MANIFEST_ENTRY} is not the first entry`, { entry: first?.path });
  }
  const builder = new SiteBuilder(parseReleaseManifest(first.data), {
    maxMemoryFileBytes: Number.POSITIVE_INFINITY,
    maxResidentBytes: Number.POSITIVE_INFINITY,
  });
  for (const { path, data } of entries.slice(1)) {
    builder.expect(path, data.length);
    const sha256 = createHash('sha256').update(data).digest('hex');
    builder.add(path, { offset: data.byteOffset - releaseTar.byteOffset, size: data.length, sha256, body: data });
  }
  return builder.finish(null);
}
