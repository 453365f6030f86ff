import { realpath, stat } from 'node:fs/promises';
import type { BuildSettings } from './build-settings.js';
import { join, sep } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { ReleaseManifest } from '../core/release-format.js';
import type { StaticAppPlan } from './app-plan.js';
import { describeSteps, runPlannedSteps } from './build-steps.js';
import { extractSnapshot, normalizeOutputPath } from './snapshot.js';
import type { Compressor } from './precompress.js';
import { collectTree, type SkippedPath } from './source-tree.js';
import { packageFileRelease, type FileReleaseTarget, type StoredStaticRelease } from './static-file-release.js';
import { immutableTest, packageStaticRelease } from './static-packager.js';

/** Options for {@link buildStaticRelease}; `workDir` gets the source in `src/`, the release in `release.tar`. */
export interface BuildStaticOptions extends BuildSettings {
  /** Where the built site is, relative to the source root. */
  outputPath?: string;
  /** Passed to the packager (see `createCachingCompressor`). */
  compressor?: Compressor;
  /** Globs of files to publish even though the release rules leave them out (`*.map`; see `release-filter.ts`). */
  staticInclude?: readonly string[];
}

/** A packaged static release, ready to store under its sha256. */
export interface StaticRelease {
  releasePath: string;
  sha256: string;
  size: number;
  manifest: ReleaseManifest;
}

/** Where build tools put a site by default, in the order they are tried. */
export const DEFAULT_OUTPUT_DIRS = ['dist', 'build', 'out', 'public'] as const;

const MAX_SKIPPED_NOTES = 20;
/** How many left-out files the log names; the rest are counted. */
const LEFT_OUT_NAMED = 5;

/**
 * Builds a static release from a snapshot: unpacks it, then does what
 * {@link buildPlannedStaticRelease} does for a plan of just `buildCommand` and `outputPath`.
 */
export async function buildStaticRelease(options: BuildStaticOptions): Promise<StaticRelease> {
  // Checked before any work, so a bad option fails fast.
  if (options.outputPath !== undefined) normalizeOutputPath(options.outputPath);
  await extractSnapshot(options.snapshotPath, join(options.workDir, 'src'));
  const plan: StaticAppPlan = {
    kind: 'static', detected: 'static', reasons: [], install: [], buildCommand: options.buildCommand, outputPath: options.outputPath,
  };
  return buildPlannedStaticRelease(plan, options);
}

/**
 * Builds a static release from a source already unpacked into `workDir/src`: fetches the
 * plan's missing tools, runs its install steps and build command (see `runPlannedSteps`),
 * finds the site and packages it, leaving out files never to be served unless
 * `staticInclude` keeps them, and marking the hashed output of the plan's framework
 * `immutable` when it built the site. The site is `plan.outputPath` (else
 * `options.outputPath`) when given (`invalid_request` if it leaves the source,
 * `output_path_missing` if it is not a directory); otherwise the source root when there is
 * no build command, or else the first of `dist`, `build`, `out`, `public` that exists
 * (`output_path_missing` naming them all when none does). Build errors are `build_failed`
 * and `build_timeout`.
 */
export async function buildPlannedStaticRelease(plan: StaticAppPlan, options: BuildStaticOptions): Promise<StaticRelease> {
  const { srcDir, siteDir, note } = await buildSite(plan, options);
  const releasePath = join(options.workDir, 'release.tar');
  const release = await packageStaticRelease({
    siteDir, outPath: releasePath, compressor: options.compressor, include: options.staticInclude,
    // Files nobody built carry no hashes Slipway can trust: only a framework's build output is marked.
    ...(plan.buildCommand === undefined ? {} : { framework: plan.detected, sourceDir: srcDir }),
  });
  noteSkipped(release.skipped, note);
  if (release.leftOut.length) note(describeLeftOut(release.leftOut));
  const immutable = release.manifest.files.filter((f) => f.immutable).length;
  if (immutable) note(`${immutable} content-hashed files will be cached by browsers for a year`);
  note(`packaged ${release.manifest.files.length} files (${release.size} bytes, sha256 ${release.sha256})`);
  return { releasePath, sha256: release.sha256, size: release.size, manifest: release.manifest };
}

/**
 * As {@link buildPlannedStaticRelease}, but stores the site as a release of format 2 in
 * `target` (per-file blobs and a manifest, `static-file-release.ts`) instead of writing a tar.
 */
export async function buildPlannedFileRelease(plan: StaticAppPlan, options: BuildStaticOptions & { target: FileReleaseTarget }): Promise<StoredStaticRelease> {
  const { srcDir, siteDir, note } = await buildSite(plan, options);
  const tree = await collectTree({ root: siteDir });
  noteSkipped(tree.skipped, note);
  const isImmutable = plan.buildCommand === undefined ? undefined : immutableTest({ framework: plan.detected, sourceDir: srcDir });
  const release = await packageFileRelease({
    files: tree.files.map((f) => ({ path: f.path, absPath: f.absPath, size: f.size })),
    sink: options.target.sink, previous: options.target.previous, include: options.staticInclude, compressor: options.compressor, isImmutable,
  });
  if (release.leftOut.length) note(describeLeftOut(release.leftOut));
  const immutable = release.manifest.files.filter((f) => f.immutable).length;
  if (immutable) note(`${immutable} content-hashed files will be cached by browsers for a year`);
  note(`packaged ${release.manifest.files.length} files (${release.stored} new blobs, ${release.compressed} compressed; release ${release.sha256})`);
  return { sha256: release.sha256, size: release.size, manifest: release.manifest };
}

/** Runs the plan's steps in `workDir/src` and finds the site folder. */
async function buildSite(plan: StaticAppPlan, options: BuildStaticOptions): Promise<{ srcDir: string; siteDir: string; note: (text: string) => void }> {
  const srcDir = join(options.workDir, 'src');
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  const requested = plan.outputPath ?? options.outputPath;
  const outputPath = requested === undefined ? undefined : normalizeOutputPath(requested);
  const steps = describeSteps(plan);
  if (plan.fetchTools?.length || steps.length) {
    // What was detected, and why, the caller has logged (`logPlan`); these are the steps it chose.
    if (plan.install.length) note(`build steps: ${steps.join(' → ')}`);
    await runPlannedSteps(plan, options);
  }
  return { srcDir, siteDir: await resolveSiteDir(srcDir, outputPath, plan.buildCommand !== undefined), note };
}

function noteSkipped(skipped: readonly SkippedPath[], note: (text: string) => void): void {
  for (const s of skipped.slice(0, MAX_SKIPPED_NOTES)) note(`skipped ${s.path}: ${s.reason}`);
  if (skipped.length > MAX_SKIPPED_NOTES) note(`skipped ${skipped.length - MAX_SKIPPED_NOTES} more`);
}

/** `left out 3 files that are never served: package.json (package manifest or lockfile), …; publish them anyway with static_include`. */
export function describeLeftOut(leftOut: readonly SkippedPath[]): string {
  const named = leftOut.slice(0, LEFT_OUT_NAMED).map((f) => `${f.path} (${f.reason})`).join(', ');
  const more = leftOut.length > LEFT_OUT_NAMED ? ` and ${leftOut.length - LEFT_OUT_NAMED} more` : '';
  const files = leftOut.length === 1 ? 'file that is' : 'files that are';
  return `left out ${leftOut.length} ${files} never served: ${named}${more}; publish them anyway with static_include`;
}

async function resolveSiteDir(srcDir: string, outputPath: string | undefined, built: boolean): Promise<string> {
  if (outputPath !== undefined) {
    const dir = join(srcDir, outputPath);
    if (!(await isDirectory(dir))) {
      throw new SlipwayError('output_path_missing', `output_path ${outputPath || '.'} is not a directory in the source`, {
        details: { output_path: outputPath, tried: [outputPath] },
      });
    }
    // The build may have replaced the folder with a symlink: what is published must still be
    // part of the source.
    const [realDir, realRoot] = await Promise.all([realpath(dir), realpath(srcDir)]);
    if (realDir !== realRoot && !realDir.startsWith(realRoot + sep)) {
      throw new SlipwayError('invalid_request', `output_path ${outputPath} leads outside the source`, {
        details: { field: 'output_path' },
      });
    }
    return realDir;
  }
  if (!built) return srcDir;
  for (const candidate of DEFAULT_OUTPUT_DIRS) {
    if (await isDirectory(join(srcDir, candidate))) return resolveSiteDir(srcDir, candidate, built);
  }
  throw new SlipwayError(
    'output_path_missing',
    `the build produced none of ${DEFAULT_OUTPUT_DIRS.join(', ')}; set output_path to where it writes the site`,
    { details: { tried: [...DEFAULT_OUTPUT_DIRS] } },
  );
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}
