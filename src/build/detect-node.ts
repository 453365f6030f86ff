import { posix } from 'node:path';
import { SlipwayError } from '../core/errors.js';
import { DEFAULT_PORTS, type EcosystemPlan } from './app-plan.js';
import { packageManagerToFetch } from './package-manager-fetch.js';
import { firstSourceFile, isSourceFile, readSourceFile, requireTool, shellWord, type DetectContext } from './detect-support.js';

/** Node package managers, chosen by lockfile in this order; none found means `npm install`. */
const LOCKFILES = [
  { file: 'package-lock.json', manager: 'npm' },
  { file: 'npm-shrinkwrap.json', manager: 'npm' },
  { file: 'pnpm-lock.yaml', manager: 'pnpm' },
  { file: 'yarn.lock', manager: 'yarn' },
] as const;

type Manager = (typeof LOCKFILES)[number]['manager'];

interface PackageJson {
  scripts: Record<string, string>;
  main?: string;
  /** Corepack's `packageManager` field, e.g. `pnpm@9.12.3`. */
  packageManager?: string;
}

/**
 * A Node app (`package.json` at the root). Install follows the lockfile: `npm ci`,
 * `pnpm install --frozen-lockfile`, `yarn install --frozen-lockfile`, or `npm install` without
 * one (npm with `--no-audit --no-fund`). A `build` script makes `<manager> run build` the build
 * step. When anything is built (that script or the user's build command), devDependencies are
 * installed too: builds run with `NODE_ENV=production`, which would leave out the tools. A
 * pnpm or yarn 1 the host lacks is fetched from the registry for the build (see
 * `package-manager-fetch.ts`). It starts with `npm start` when there is a `start`
 * script, else `node <main>` when `main` names a file (or the build may make it), else
 * `node server.js` when that file exists (npm's own default for `npm start`); otherwise it
 * has no run command and may be a static site. `node` and the manager must be installed.
 */
export async function detectNode(ctx: DetectContext): Promise<EcosystemPlan | null> {
  const text = await readSourceFile(ctx, 'package.json');
  if (text === undefined) return null;
  const pkg = parsePackageJson(text);
  const hasBuild = typeof pkg.scripts.build === 'string';
  const builds = hasBuild || ctx.hasBuildCommand;
  const manager = await pickManager(ctx);
  await requireTool(ctx, 'node');
  const fetched = manager === 'npm' ? null : await packageManagerToFetch(ctx, manager, pkg.packageManager);
  // A fetched manager comes through npm, which then has to be there.
  await requireTool(ctx, fetched === null ? manager : 'npm');
  return {
    detected: `node (${manager})`,
    ...(fetched === null ? {} : { fetchTools: [fetched] }),
    install: [await installArgv(ctx, manager, builds)],
    buildCommand: hasBuild ? `${manager} run build` : undefined,
    runCommand: await runCommandOf(ctx, pkg, builds),
    port: DEFAULT_PORTS.node,
    canBeStatic: true,
  };
}

async function pickManager(ctx: DetectContext): Promise<Manager> {
  for (const { file, manager } of LOCKFILES) if (await isSourceFile(ctx, file)) return manager;
  return 'npm';
}

async function installArgv(ctx: DetectContext, manager: Manager, withDev: boolean): Promise<string[]> {
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

async function runCommandOf(ctx: DetectContext, pkg: PackageJson, builds: boolean): Promise<string | undefined> {
  if (typeof pkg.scripts.start === 'string') return 'npm start';
  const main = pkg.main === undefined ? undefined : safeMain(pkg.main);
  if (main !== undefined && (builds || (await isSourceFile(ctx, main)) || (await isSourceFile(ctx, `${main}.js`)))) {
    return `node ${shellWord(main)}`;
  }
  if (await isSourceFile(ctx, 'server.js')) return 'node server.js';
  return undefined;
}

/** `main` as a path inside the app, or undefined when it points anywhere else. */
function safeMain(main: string): string | undefined {
  const normalized = posix.normalize(main);
  if (normalized === '' || normalized === '.' || posix.isAbsolute(normalized) || normalized.startsWith('../')) return undefined;
  return normalized;
}

function parsePackageJson(text: string): PackageJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new SlipwayError('build_failed', `package.json is not valid JSON: ${(cause as Error).message}`, {
      cause,
      details: { file: 'package.json' },
    });
  }
  const obj = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const scripts: Record<string, string> = {};
  if (typeof obj.scripts === 'object' && obj.scripts !== null) {
    for (const [name, value] of Object.entries(obj.scripts)) if (typeof value === 'string' && value.trim() !== '') scripts[name] = value;
  }
  return {
    scripts,
    main: typeof obj.main === 'string' && obj.main !== '' ? obj.main : undefined,
    packageManager: typeof obj.packageManager === 'string' ? obj.packageManager : undefined,
  };
}
