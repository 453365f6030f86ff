import { SlipwayError } from '../core/errors.js';
import { listSourceDir } from './detect-support.js';
import { configFile, type SourceFacts } from './frameworks/source-facts.js';

/** Config files that mean a source is built before it is a site. */
const FRAMEWORK_CONFIGS = ['vite.config', 'next.config', 'astro.config', 'svelte.config', 'nuxt.config'] as const;

/**
 * What in the source says it needs a build before it can be served: a `build` script, a
 * framework config, TypeScript sources under `src/` with a `tsconfig.json`, Python files at the
 * root. Empty when none: plain files may be published as they are.
 */
export async function buildSigns(facts: SourceFacts): Promise<string[]> {
  const signs: string[] = [];
  if (facts.pkg?.scripts.build !== undefined) signs.push('a build script in package.json');
  for (const base of FRAMEWORK_CONFIGS) {
    const file = configFile(facts, base);
    if (file !== undefined) signs.push(file);
  }
  if (facts.rootFiles.has('angular.json')) signs.push('angular.json');
  if (facts.rootFiles.has('tsconfig.json') && facts.rootDirs.has('src')) {
    const names = (await listSourceDir(facts, 'src')).map((e) => e.name);
    const ts = names.find((name) => /\.(ts|tsx|mts)$/.test(name) && !name.endsWith('.d.ts'));
    if (ts !== undefined) signs.push(`tsconfig.json with src/${ts}`);
  }
  const py = [...facts.rootFiles].filter((name) => name.endsWith('.py')).sort();
  if (py.length) signs.push(`Python files at the root (${py.slice(0, 3).join(', ')}${py.length > 3 ? ', …' : ''})`);
  return signs;
}

/**
 * `build_required`: the source would be published as raw files, but it holds `signs` of
 * needing a build. Names what was found and how to force a plain publish anyway.
 */
export function buildRequired(signs: string[]): SlipwayError {
  return new SlipwayError(
    'build_required',
    `this source needs a build but none was given or detected (found ${signs.join('; ')}); give build_command (and output_path), or publish the files as they are with as_is (\`slipway publish --as-is\`)`,
    { details: { found: signs } },
  );
}
