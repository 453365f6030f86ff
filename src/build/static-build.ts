import { realpath, stat } from 'node:fs/promises';
import type { BuildSettings } from './build-settings.js';
import { join, sep } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { ReleaseManifest } from '../core/release-format.js';
import { chownTree } from '../util/chown-tree.js';
import { runBuildCommand } from './build-runner.js';
import { extractSnapshot, normalizeOutputPath } from './snapshot.js';
import type { Compressor } from './precompress.js';
import { packageStaticRelease } from './static-packager.js';

/** Options for {@link buildStaticRelease}; `workDir` gets the source in `src/`, the release in `release.tar`. */
export interface BuildStaticOptions extends BuildSettings {
  /** Where the built site is, relative to the source root. */
  outputPath?: string;
  /** Passed to the packager (see `createCachingCompressor`). */
  compressor?: Compressor;
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

/**
 * Builds a static release from a snapshot: unpacks it, runs the build command if there is one,
 * finds the site and packages it. The site is `outputPath` when given (`invalid_request` if it
 * leaves the source, `output_path_missing` if it is not a directory); otherwise the source
 * root when there is no build command, or else the first of `dist`, `build`, `out`, `public`
 * that exists (`output_path_missing` naming them all when none does). Build errors are
 * `build_failed` and `build_timeout`.
 */
export async function buildStaticRelease(options: BuildStaticOptions): Promise<StaticRelease> {
  const srcDir = join(options.workDir, 'src');
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  // Checked before any work, so a bad option fails fast.
  const outputPath = options.outputPath === undefined ? undefined : normalizeOutputPath(options.outputPath);
  await extractSnapshot(options.snapshotPath, srcDir);

  if (options.buildCommand !== undefined) {
    if (options.user) await chownTree(srcDir, options.user);
    note(`running build command: ${options.buildCommand}${options.user ? ` (as uid ${options.user.uid})` : ''}`);
    const { durationMs } = await runBuildCommand({
      command: options.buildCommand,
      cwd: srcDir,
      env: options.env,
      timeoutMs: options.timeoutMs,
      maxLogBytes: options.maxLogBytes ?? 5_000_000,
      onLog: options.onLog,
      user: options.user,
      sandbox: options.sandbox ? { config: options.sandbox, writable: options.workDir, netns: options.netns } : undefined,
      signal: options.signal,
    });
    note(`build finished in ${durationMs} ms`);
  }

  const siteDir = await resolveSiteDir(srcDir, outputPath, options.buildCommand !== undefined);
  const releasePath = join(options.workDir, 'release.tar');
  const release = await packageStaticRelease({ siteDir, outPath: releasePath, compressor: options.compressor });
  for (const skipped of release.skipped.slice(0, MAX_SKIPPED_NOTES)) note(`skipped ${skipped.path}: ${skipped.reason}`);
  if (release.skipped.length > MAX_SKIPPED_NOTES) note(`skipped ${release.skipped.length - MAX_SKIPPED_NOTES} more`);
  note(`packaged ${release.manifest.files.length} files (${release.size} bytes, sha256 ${release.sha256})`);
  return { releasePath, sha256: release.sha256, size: release.size, manifest: release.manifest };
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
