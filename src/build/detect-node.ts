import { posix } from 'node:path';
import { DEFAULT_PORTS } from './app-plan.js';
import { packageManagerToFetch } from './package-manager-fetch.js';
import { firstSourceFile, isSourceFile, requireTool, shellWord, type DetectContext } from './detect-support.js';
import type { AppDetection } from './frameworks/framework-rule.js';
import type { PackageJson, SourceFacts } from './frameworks/source-facts.js';
import { startScriptRun } from './start-script.js';

/** Node package managers, chosen by lockfile in this order; none found means `npm install`. */
const LOCKFILES = [
  { file: 'package-lock.json', manager: 'npm' },
  { file: 'npm-shrinkwrap.json', manager: 'npm' },
  { file: 'pnpm-lock.yaml', manager: 'pnpm' },
  { file: 'yarn.lock', manager: 'yarn' },
] as const;

/** A Node package manager. */
export type NodeManager = (typeof LOCKFILES)[number]['manager'];

/** How a Node project is installed: its manager, anything fetched for it, the install step. */
export interface NodeToolchain {
  manager: NodeManager;
  fetchTools?: string[];
  install: string[][];
  reasons: string[];
}

/**
 * The install of a Node project. It follows the lockfile: `npm ci`, `pnpm install
 * --frozen-lockfile`, `yarn install --frozen-lockfile`, or `npm install` without one (npm with
 * `--no-audit --no-fund`). When anything is built, devDependencies are installed too: builds run
 * with `NODE_ENV=production`, which would leave out the tools. A pnpm or yarn 1 the host lacks is
 * fetched from the registry for the build (see `package-manager-fetch.ts`). `node` and the
 * manager must be installed (`build_toolchain_missing`).
 */
export async function nodeToolchain(facts: SourceFacts, withDev: boolean): Promise<NodeToolchain> {
  const lock = LOCKFILES.find(({ file }) => facts.rootFiles.has(file));
  const manager: NodeManager = lock?.manager ?? 'npm';
  await requireTool(facts, 'node');
  const fetched = manager === 'npm' ? null : await packageManagerToFetch(facts, manager, facts.pkg?.packageManager);
  // A fetched manager comes through npm, which then has to be there.
  await requireTool(facts, fetched === null ? manager : 'npm');
  const argv = await installArgv(facts, manager, withDev);
  const reasons = [
    lock === undefined ? `no lockfile: ${argv.join(' ')}` : `${lock.file}: ${argv.join(' ')}`,
    ...(withDev ? ['devDependencies are installed for the build'] : []),
    ...(fetched === null ? [] : [`the host has no ${manager}: ${fetched} is fetched for the build`]),
  ];
  return { manager, ...(fetched === null ? {} : { fetchTools: [fetched] }), install: [argv], reasons };
}

/** How to run a package's binary with this manager: `npx --no-install vite`, `pnpm exec vite`. */
export function execBinary(manager: NodeManager, command: string): string {
  switch (manager) {
    case 'npm':
      return `npx --no-install ${command}`;
    case 'pnpm':
      return `pnpm exec ${command}`;
    case 'yarn':
      return `yarn run ${command}`;
    default: {
      const never: never = manager;
      throw new Error(`unknown package manager ${String(never)}`);
    }
  }
}

/**
 * The project's `build` script when it has one (`npm run build`), else `fallback` run through
 * the manager (`npx --no-install vite build`), with the reason for the choice.
 */
export function buildStep(facts: SourceFacts, manager: NodeManager, fallback: string): { command: string; reason: string } {
  const script = facts.pkg?.scripts.build;
  if (script !== undefined) return { command: `${manager} run build`, reason: `build: ${manager} run build (the build script: ${script})` };
  const command = execBinary(manager, fallback);
  return { command, reason: `build: ${command} (package.json has no build script)` };
}

/**
 * A Node app that is no framework Slipway knows (Express, Fastify, Koa, Nest, …). A `build`
 * script is the build step. It starts with its `start` script when there is one (run directly
 * when it is a plain command, else by `npm start`: start-script.ts), else
 * `node <main>` when `main` names a file (or the build may make it), else `node server.js` when
 * that file exists (npm's own default for `npm start`); otherwise it has no run command and may
 * be a static site built by its `build` script.
 */
export async function detectNode(facts: SourceFacts): Promise<AppDetection | null> {
  const pkg = facts.pkg;
  if (pkg === null) return null;
  const hasBuild = pkg.scripts.build !== undefined;
  const builds = hasBuild || facts.hasBuildCommand;
  const tools = await nodeToolchain(facts, builds);
  const run = await runCommandOf(facts, pkg, builds);
  return {
    kind: 'dynamic',
    detected: `node (${tools.manager})`,
    reasons: [
      'package.json found',
      ...tools.reasons,
      ...(hasBuild ? [`build: ${tools.manager} run build (the build script: ${pkg.scripts.build})`] : []),
      ...(run === undefined ? ['no start script, main file or server.js: nothing to run'] : [`run: ${run.command} (${run.why})`, `port ${DEFAULT_PORTS.node}: the Node convention (the app gets PORT)`]),
    ],
    ...(tools.fetchTools ? { fetchTools: tools.fetchTools } : {}),
    install: tools.install,
    ...(hasBuild ? { buildCommand: `${tools.manager} run build` } : {}),
    ...(run === undefined ? {} : { runCommand: run.command }),
    port: DEFAULT_PORTS.node,
    canBeStatic: true,
  };
}

async function installArgv(ctx: DetectContext, manager: NodeManager, withDev: boolean): Promise<string[]> {
  switch (manager) {
    case 'npm': {
      const locked = (await firstSourceFile(ctx, ['package-lock.json', 'npm-shrinkwrap.json'])) !== undefined;
      return ['npm', locked ? 'ci' : 'install', '--no-audit', '--no-fund', ...(withDev ? ['--include=dev'] : [])];
    }
    case 'pnpm':
      return ['pnpm', 'install', '--frozen-lockfile', ...(withDev ? ['--prod=false'] : [])];
    case 'yarn':
      return ['yarn', 'install', '--frozen-lockfile', ...(withDev ? ['--production=false'] : [])];
    default: {
      const never: never = manager;
      throw new Error(`unknown package manager ${String(never)}`);
    }
  }
}

async function runCommandOf(ctx: DetectContext, pkg: PackageJson, builds: boolean): Promise<{ command: string; why: string } | undefined> {
  if (pkg.scripts.start !== undefined) return startScriptRun(ctx, pkg.scripts.start);
  const main = pkg.main === undefined ? undefined : safeMain(pkg.main);
  if (main !== undefined && (builds || (await isSourceFile(ctx, main)) || (await isSourceFile(ctx, `${main}.js`)))) {
    return { command: `node ${shellWord(main)}`, why: `package.json's main${builds && !(await isSourceFile(ctx, main)) ? ', made by the build' : ''}` };
  }
  if (await isSourceFile(ctx, 'server.js')) return { command: 'node server.js', why: "server.js found, npm's default start" };
  return undefined;
}

/** `main` as a path inside the app, or undefined when it points anywhere else. */
function safeMain(main: string): string | undefined {
  const normalized = posix.normalize(main);
  if (normalized === '' || normalized === '.' || posix.isAbsolute(normalized) || normalized.startsWith('../')) return undefined;
  return normalized;
}
