import { mkdir, writeFile } from 'node:fs/promises';
import type { BuildSettings } from './build-settings.js';
import { join } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import { chownTree } from '../util/chown-tree.js';
import type { RequestedKind } from './app-plan.js';
import { BUILD_PATH } from './build-path.js';
import { runBuildCommand, runBuildStep, type BuildStepOptions } from './build-runner.js';
import { detectApp, type DynamicAppPlan } from './detect-app.js';
import { packageDynamicRelease } from './dynamic-packager.js';
import { extractSnapshot } from './snapshot.js';

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
 * The second half of {@link buildDynamicRelease}, for a caller that has already unpacked the
 * source into `workDir/src` and detected it: install, build, package.
 */
export async function buildPlannedRelease(plan: DynamicAppPlan, options: BuildDynamicOptions): Promise<DynamicRelease> {
  const srcDir = join(options.workDir, 'src');
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  const steps = [...plan.install.map(describeArgv), ...(plan.buildCommand === undefined ? [] : [plan.buildCommand])];
  note(`detected ${plan.detected}: ${steps.length ? steps.join(' → ') : 'nothing to install or build'}; run \`${plan.runCommand}\` on port ${plan.port}`);

  const home = join(options.workDir, 'home');
  const cache = join(options.workDir, 'cache');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(cache, { recursive: true, mode: 0o700 });
  if (plan.fetchTools?.length) {
    await mkdir(join(cache, 'tools'), { recursive: true, mode: 0o700 });
    // Its own package.json stops npm walking up to a folder (and an .npmrc) someone else owns.
    await writeFile(join(cache, 'tools', 'package.json'), '{ "private": true }\n');
  }
  if (options.user) for (const dir of [srcDir, home, cache]) await chownTree(dir, options.user);

  const deadline = Date.now() + options.timeoutMs;
  // Fetched package managers land here; first on PATH, so they win over nothing (the host has none).
  const tools = join(cache, 'tools');
  const pathEnv: Record<string, string> = plan.fetchTools?.length
    ? { PATH: `${join(tools, 'node_modules', '.bin')}:${BUILD_PATH}` }
    : {};
  const stepOptions = (): BuildStepOptions => ({
    cwd: srcDir,
    env: { ...toolEnvironment(home, cache), ...options.env, ...pathEnv },
    timeoutMs: Math.max(1, deadline - Date.now()),
    maxLogBytes: options.maxLogBytes ?? 5_000_000,
    onLog: options.onLog,
    user: options.user,
    sandbox: options.sandbox ? { config: options.sandbox, writable: options.workDir, netns: options.netns } : undefined,
    signal: options.signal,
  });
  const as = options.user ? ` (as uid ${options.user.uid})` : '';
  if (plan.fetchTools?.length) {
    // A plain install run inside the folder, not `--global --prefix`: npm derives its global
    // config (where a host's registry and CA settings live) from the prefix.
    // No install scripts: the managers need none, and nothing fetched here runs before the app's own steps.
    const argv = ['npm', 'install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', ...plan.fetchTools];
    note(`the host has no ${plan.fetchTools.join(', ')}: fetching it for this build${as}`);
    const { durationMs } = await runBuildStep(argv, { ...stepOptions(), cwd: tools });
    note(`fetched ${plan.fetchTools.join(', ')} in ${durationMs} ms`);
  }
  for (const argv of plan.install) {
    note(`running ${describeArgv(argv)}${as}`);
    const { durationMs } = await runBuildStep(argv, stepOptions());
    note(`${describeArgv(argv)} finished in ${durationMs} ms`);
  }
  if (plan.buildCommand !== undefined) {
    note(`running build command: ${plan.buildCommand}${as}`);
    const { durationMs } = await runBuildCommand({ command: plan.buildCommand, ...stepOptions() });
    note(`build finished in ${durationMs} ms`);
  }

  const manifest: DynamicReleaseManifest = { format: 1, kind: 'dynamic', run_command: plan.runCommand, port: plan.port, detected: plan.detected };
  const releasePath = join(options.workDir, 'release.tar');
  const packaged = await packageDynamicRelease({
    appDir: srcDir,
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

/**
 * Where the tools write what is not part of the app: a private home, and caches outside the
 * tree so they never end up in the release. `SOURCE_DATE_EPOCH` makes Python's bytecode (and
 * other tools that honour it) independent of the build time.
 */
function toolEnvironment(home: string, cache: string): Record<string, string> {
  return {
    HOME: home,
    XDG_CACHE_HOME: cache,
    npm_config_cache: join(cache, 'npm'),
    npm_config_update_notifier: 'false',
    PIP_CACHE_DIR: join(cache, 'pip'),
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    GOPATH: join(cache, 'go'),
    GOCACHE: join(cache, 'go-build'),
    GOFLAGS: '-modcacherw',
    SOURCE_DATE_EPOCH: '315532800',
  };
}

/** An install step for the log: a long inline script (`python -c …`) shows as its first line. */
function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (a.includes('\n') ? `'${a.slice(0, a.indexOf('\n'))} …'` : a)).join(' ');
}
