import { SlipwayError } from '../core/errors.js';
import type { StaticAppPlan } from './app-plan.js';
import type { SourceFile } from './memory-source.js';
import { normalizeOutputPath } from './snapshot.js';
import type { Compressor } from './precompress.js';
import { describeLeftOut } from './static-build.js';
import { packageFileRelease, type FileReleaseTarget, type StoredStaticRelease } from './static-file-release.js';

/** Options for {@link buildMemoryStaticRelease}. */
export interface MemoryStaticOptions {
  target: FileReleaseTarget;
  /** The publish's `output_path` (the plan's wins). */
  outputPath?: string;
  compressor?: Compressor;
  staticInclude?: readonly string[];
  onLog: (chunk: string) => void;
}

/**
 * True when a plan publishes files as they are: no tools, no install, no build. Such a site is
 * packaged straight from the snapshot held in memory ({@link buildMemoryStaticRelease}).
 */
export function isPlainSite(plan: StaticAppPlan): boolean {
  return plan.buildCommand === undefined && plan.install.length === 0 && !plan.fetchTools?.length;
}

/**
 * Packages a plain site (see {@link isPlainSite}) from the snapshot's files in memory, with no
 * tree on disk, as a format-2 release: the site is the files under the output path (the plan's,
 * else the publish's; `output_path_missing` when no file is there), served at their paths
 * relative to it. Nothing is marked immutable: files nobody built carry no trusted hashes.
 */
export async function buildMemoryStaticRelease(plan: StaticAppPlan, files: readonly SourceFile[], options: MemoryStaticOptions): Promise<StoredStaticRelease> {
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  const requested = plan.outputPath ?? options.outputPath;
  const outputPath = requested === undefined ? '' : normalizeOutputPath(requested);
  const prefix = outputPath === '' ? '' : `${outputPath}/`;
  const site = files.filter((f) => f.path.startsWith(prefix)).map((f) => ({ path: f.path.slice(prefix.length), data: f.data, size: f.data.length }));
  if (site.length === 0) {
    throw new SlipwayError('output_path_missing', `output_path ${outputPath || '.'} is not a directory in the source`, {
      details: { output_path: outputPath, tried: [outputPath] },
    });
  }
  const release = await packageFileRelease({
    files: site, sink: options.target.sink, previous: options.target.previous, include: options.staticInclude, compressor: options.compressor,
  });
  if (release.leftOut.length) note(describeLeftOut(release.leftOut));
  note(`packaged ${release.manifest.files.length} files (${release.stored} new blobs, ${release.compressed} compressed; release ${release.sha256})`);
  return { sha256: release.sha256, size: release.size, manifest: release.manifest };
}
