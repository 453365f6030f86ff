import { SlipwayError } from '../../core/errors.js';
import { listSourceDir, readSourceFile, type DetectContext } from '../detect-support.js';

/** The root `package.json`, reduced to what detection reads. */
export interface PackageJson {
  scripts: Record<string, string>;
  main?: string;
  /** Corepack's `packageManager` field, e.g. `pnpm@9.12.3`. */
  packageManager?: string;
  /** `dependencies` and `devDependencies` together: name → version range. */
  deps: Record<string, string>;
}

/**
 * The source as every rule sees it, read once: the names at the root and the parsed
 * `package.json` (`build_failed` when it is not JSON).
 */
export interface SourceFacts extends DetectContext {
  /** Names of the regular files at the root. */
  rootFiles: ReadonlySet<string>;
  /** Names of the directories at the root. */
  rootDirs: ReadonlySet<string>;
  pkg: PackageJson | null;
  /** True when the host builds Dockerfiles into images and runs them (a container driver). */
  containerImages: boolean;
}

/** The extensions a JavaScript tool's config file may have. */
const CONFIG_EXTENSIONS = ['js', 'mjs', 'cjs', 'ts', 'mts', 'cts'] as const;

/** Reads the facts of `ctx.srcDir`; `containerImages` is the host's, passed through. */
export async function loadSourceFacts(ctx: DetectContext & { containerImages?: boolean }): Promise<SourceFacts> {
  const entries = await listSourceDir(ctx, '');
  const rootFiles = new Set(entries.filter((e) => e.isFile).map((e) => e.name));
  const rootDirs = new Set(entries.filter((e) => e.isDirectory).map((e) => e.name));
  const text = rootFiles.has('package.json') ? await readSourceFile(ctx, 'package.json') : undefined;
  return { ...ctx, containerImages: ctx.containerImages ?? false, rootFiles, rootDirs, pkg: text === undefined ? null : parsePackageJson(text) };
}

/** The first `<base>.{js,mjs,cjs,ts,mts,cts}` at the root (`vite.config.ts`), or undefined. */
export function configFile(facts: SourceFacts, base: string): string | undefined {
  return CONFIG_EXTENSIONS.map((ext) => `${base}.${ext}`).find((name) => facts.rootFiles.has(name));
}

/** The version range of a dependency (either kind), or undefined. */
export function dependency(facts: SourceFacts, name: string): string | undefined {
  return facts.pkg?.deps[name];
}

/** The first dependency whose name starts with `prefix` (`@remix-run/`), as `[name, range]`. */
export function dependencyWithPrefix(facts: SourceFacts, prefix: string): [string, string] | undefined {
  return Object.entries(facts.pkg?.deps ?? {}).find(([name]) => name.startsWith(prefix));
}

/** The reason line for a dependency: `package.json depends on vite (^6.0.0)`. */
export function dependsOn(name: string, range: string): string {
  return `package.json depends on ${name} (${range})`;
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
  return {
    scripts: stringMap(obj.scripts),
    main: typeof obj.main === 'string' && obj.main !== '' ? obj.main : undefined,
    packageManager: typeof obj.packageManager === 'string' ? obj.packageManager : undefined,
    deps: { ...stringMap(obj.devDependencies), ...stringMap(obj.dependencies) },
  };
}

/** The non-empty string members of a JSON object (`scripts`, `dependencies`). */
function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return out;
  for (const [name, v] of Object.entries(value)) if (typeof v === 'string' && v.trim() !== '') out[name] = v;
  return out;
}
