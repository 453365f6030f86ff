import type { BuildSettings } from './build-settings.js';
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import type { RequestedKind } from './app-plan.js';
import { describeSteps, runPlannedSteps } from './build-steps.js';
import { detectApp, type DynamicAppPlan } from './detect-app.js';
import { packageDynamicRelease } from './dynamic-packager.js';
import { extractSnapshot, normalizeOutputPath } from './snapshot.js';

export { extractDynamicRelease } from './dynamic-release-reader.js';

/** Options for {@link buildDynamicRelease}; `workDir` gets `src/` (the app), `home/`, `cache/`, `release.tar`. */
export interface BuildDynamicOptions extends BuildSettings {
  runCommand?: string;
  port?: number;
  /**
   * What the publish asked for (default `dynamic`). A source that `detectApp` finds to be a
   * static site is `run_command_missing` here: the caller chose this builder for an app.
   */
  kind?: RequestedKind;
  /** Most bytes of file content in the built app (default 1 GiB): `build_output_too_large`. */
  maxOutputBytes?: number;
}

/** A packaged dynamic release, ready to store under its sha256. */
export interface DynamicRelease {
  releasePath: string;
  sha256: string;
  size: number;
  manifest: DynamicReleaseManifest;
}

/**
 * Builds a dynamic release from a snapshot: unpacks it into `workDir/src`, decides what it is
 * ({@link detectApp}), runs the install steps and the build command there, then packages the
 * whole app tree (dependencies included) with its manifest (`packageDynamicRelease`).
 * Errors: those of `detectApp`, `build_failed` and `build_timeout` from the steps,
 * `build_output_too_large` for an app past `maxOutputBytes`.
 */
export async function buildDynamicRelease(options: BuildDynamicOptions): Promise<DynamicRelease> {
  const srcDir = join(options.workDir, 'src');
  await extractSnapshot(options.snapshotPath, srcDir);
  const plan = await detectApp(srcDir, {
    kind: options.kind ?? 'dynamic',
    buildCommand: options.buildCommand,
    runCommand: options.runCommand,
    port: options.port,
  });
  if (plan.kind === 'static') {
    throw new SlipwayError('run_command_missing', 'this source looks like a static site; give run_command to run it as an app', {
      details: { detected: null },
    });
  }
  return buildPlannedRelease(plan, options);
}

/**
 * The plan's package root inside the built tree: `build_failed` when the build did not make it
 * as a directory, or made it a link out of the source.
 */
async function packageRootDir(srcDir: string, packageRoot: string): Promise<string> {
  const dir = join(srcDir, normalizeOutputPath(packageRoot));
  const real = await realpath(dir).catch(() => null);
  const root = await realpath(srcDir);
  if (real === null || !(await stat(real)).isDirectory() || !real.startsWith(root + sep)) {
    throw new SlipwayError('build_failed', `the build did not make ${packageRoot}, the folder this app runs from`, { details: { package_root: packageRoot } });
  }
  return real;
}

/**
 * The second half of {@link buildDynamicRelease}, for a caller that has already unpacked the
 * source into `workDir/src` and detected it: install, build, package.
 */
export async function buildPlannedRelease(plan: DynamicAppPlan, options: BuildDynamicOptions): Promise<DynamicRelease> {
  const srcDir = join(options.workDir, 'src');
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  const steps = describeSteps(plan);
  note(`detected ${plan.detected}: ${steps.length ? steps.join(' → ') : 'nothing to install or build'}; run \`${plan.runCommand}\` on port ${plan.port}`);
  await runPlannedSteps(plan, options);

  const manifest: DynamicReleaseManifest = { format: 1, kind: 'dynamic', run_command: plan.runCommand, port: plan.port, detected: plan.detected };
  const releasePath = join(options.workDir, 'release.tar');
  const appDir = plan.packageRoot === undefined ? srcDir : await packageRootDir(srcDir, plan.packageRoot);
  if (plan.packageRoot !== undefined) note(`packaging only ${plan.packageRoot}: the run command starts there`);
  const packaged = await packageDynamicRelease({
    appDir,
    stageDir: join(options.workDir, 'release'),
    manifest,
    outPath: releasePath,
    maxBytes: options.maxOutputBytes,
  });
  for (const skipped of packaged.skipped.slice(0, 20)) note(`skipped ${skipped.path}: ${skipped.reason}`);
  if (packaged.skipped.length > 20) note(`skipped ${packaged.skipped.length - 20} more`);
  note(`packaged ${packaged.fileCount} files (${packaged.appBytes} bytes unpacked, ${packaged.size} bytes, sha256 ${packaged.sha256})`);
  return { releasePath, sha256: packaged.sha256, size: packaged.size, manifest };
}
