import { access, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { chownTree } from '../util/chown-tree.js';
import { pythonShimTarget } from '../util/python-shim.js';
import { BUILD_PATH } from './build-path.js';
import { runBuildCommand, runBuildStep, type BuildStepOptions } from './build-runner.js';
import type { BuildSettings } from './build-settings.js';

/** The part of an app plan (static or dynamic) that runs before packaging. */
export interface BuildSteps {
  /** npm package specs (`pnpm@9`) the host lacks, fetched into the build's own tool folder. */
  fetchTools?: string[];
  /** Argument vectors run in the source root, never through a shell. */
  install: string[][];
  /** Run by `/bin/sh -c` after the install steps. */
  buildCommand?: string;
}

/**
 * Runs a plan's steps in `workDir/src` (already unpacked): fetches missing package managers,
 * runs the install steps, then the build command, each with a private `HOME` and caches under
 * `workDir/home` and `workDir/cache` (outside the tree, so they never reach the release), all
 * within one deadline of `options.timeoutMs`. Errors are those of `runBuildStep`.
 */
export async function runPlannedSteps(steps: BuildSteps, options: BuildSettings): Promise<void> {
  const srcDir = join(options.workDir, 'src');
  const note = (text: string): void => options.onLog(`[slipway] ${text}\n`);
  const home = join(options.workDir, 'home');
  const cache = join(options.workDir, 'cache');
  const tools = join(cache, 'tools');
  await mkdir(home, { recursive: true, mode: 0o700 });
  await mkdir(cache, { recursive: true, mode: 0o700 });
  if (steps.fetchTools?.length) {
    await mkdir(tools, { recursive: true, mode: 0o700 });
    // Its own package.json stops npm walking up to a folder (and an .npmrc) someone else owns.
    await writeFile(join(tools, 'package.json'), '{ "private": true }\n');
  }
  if (options.user) for (const dir of [srcDir, home, cache]) await chownTree(dir, options.user);

  const deadline = Date.now() + options.timeoutMs;
  // On a host with only python3, `python` is a link in the build's own tree, last on PATH: the
  // build sees a path of its own, not Slipway's checkout, in its sandbox and outside it.
  const python = pythonShimTarget();
  const shimDir = join(cache, 'python-shim');
  if (python) {
    await mkdir(shimDir, { recursive: true, mode: 0o755 });
    await symlink(python, join(shimDir, 'python'));
  }
  // Fetched package managers land here; first on PATH, so they win over nothing (the host has none).
  const path = [...(steps.fetchTools?.length ? [join(tools, 'node_modules', '.bin')] : []), BUILD_PATH, ...(python ? [shimDir] : [])].join(':');
  const pathEnv: Record<string, string> = path === BUILD_PATH ? {} : { PATH: path };
  const baseEnv = { ...toolEnvironment(home, cache), ...(await includeDevEnvironment(srcDir)) };
  const stepOptions = (): BuildStepOptions => ({
    cwd: srcDir,
    env: { ...baseEnv, ...options.env, ...pathEnv },
    timeoutMs: Math.max(1, deadline - Date.now()),
    maxLogBytes: options.maxLogBytes ?? 5_000_000,
    onLog: options.onLog,
    user: options.user,
    sandbox: options.sandbox ? { config: options.sandbox, writable: options.workDir, netns: options.netns } : undefined,
    signal: options.signal,
  });
  const as = options.user ? ` (as uid ${options.user.uid})` : '';
  for (const bin of await inheritedBinFolders(options.workDir)) {
    note(`warning: npm scripts of this build also find the tools in ${bin}, since npm puts every parent folder's node_modules/.bin on their PATH; keep SLIPWAY_HOME outside any Node.js project (docs/static-sites.md)`);
  }
  if (steps.fetchTools?.length) {
    // A plain install run inside the folder, not `--global --prefix`: npm derives its global
    // config (where a host's registry and CA settings live) from the prefix.
    // No install scripts: the managers need none, and nothing fetched here runs before the app's own steps.
    const argv = ['npm', 'install', '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund', ...steps.fetchTools];
    note(`the host has no ${steps.fetchTools.join(', ')}: fetching it for this build${as}`);
    const { durationMs } = await runBuildStep(argv, { ...stepOptions(), cwd: tools });
    note(`fetched ${steps.fetchTools.join(', ')} in ${durationMs} ms`);
  }
  for (const argv of steps.install) {
    note(`running ${describeArgv(argv)}${as}`);
    const { durationMs } = await runBuildStep(argv, stepOptions());
    note(`${describeArgv(argv)} finished in ${durationMs} ms`);
  }
  if (steps.buildCommand !== undefined) {
    note(`running build command: ${steps.buildCommand}${as}`);
    const { durationMs } = await runBuildCommand({ command: steps.buildCommand, ...stepOptions() });
    note(`build finished in ${durationMs} ms`);
  }
}

/**
 * The `node_modules/.bin` folders above the build's work dir. npm's `run-script` puts the one
 * of every parent folder of the project on a script's `PATH`, up to `/`, whatever `PATH` the
 * build was given; so a `SLIPWAY_HOME` inside a Node.js project (Slipway's own checkout)
 * lends that project's tools to every build, hiding a missing devDependency.
 */
export async function inheritedBinFolders(workDir: string): Promise<string[]> {
  const found: string[] = [];
  for (let dir = dirname(resolve(workDir)); ; dir = dirname(dir)) {
    const bin = join(dir, 'node_modules', '.bin');
    if (await access(bin).then(() => true, () => false)) found.push(bin);
    if (dirname(dir) === dir) return found;
  }
}

/** The steps for the log: `npm ci --include=dev → npm run build`. */
export function describeSteps(steps: BuildSteps): string[] {
  return [...steps.install.map(describeArgv), ...(steps.buildCommand === undefined ? [] : [steps.buildCommand])];
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

/**
 * Builds run with `NODE_ENV=production`, from which npm, yarn 1 and pnpm each conclude that
 * devDependencies are not wanted; but a build needs them (vite, webpack, typescript), whether
 * the install is ours or the user's own `npm ci && npm run build`. Each manager's own setting
 * says otherwise (checked on npm 11, yarn 1.22 and pnpm 9): npm's `include=dev` wins over the
 * derived omit, yarn 1 reads `YARN_PRODUCTION`. pnpm 9 reads only `npm_config_production`,
 * which npm itself flags as deprecated on every run, so it is set only for a pnpm project.
 */
export async function includeDevEnvironment(srcDir: string): Promise<Record<string, string>> {
  const env: Record<string, string> = { npm_config_include: 'dev', YARN_PRODUCTION: 'false' };
  if (await usesPnpm(srcDir)) env.npm_config_production = 'false';
  return env;
}

/** A `pnpm-lock.yaml`, or `packageManager: pnpm@…` in `package.json`. */
async function usesPnpm(srcDir: string): Promise<boolean> {
  if (await access(join(srcDir, 'pnpm-lock.yaml')).then(() => true, () => false)) return true;
  const manifest = await readFile(join(srcDir, 'package.json'), 'utf8').catch(() => null);
  if (manifest === null) return false;
  try {
    const { packageManager } = JSON.parse(manifest) as { packageManager?: unknown };
    return typeof packageManager === 'string' && packageManager.startsWith('pnpm@');
  } catch {
    return false;
  }
}

/** An install step for the log: a long inline script (`python -c …`) shows as its first line. */
function describeArgv(argv: readonly string[]): string {
  return argv.map((a) => (a.includes('\n') ? `'${a.slice(0, a.indexOf('\n'))} …'` : a)).join(' ');
}
