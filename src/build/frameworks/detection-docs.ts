import { DEFAULT_OUTPUT_DIRS } from '../static-build.js';
import type { FrameworkRule } from './framework-rule.js';
import { FRAMEWORKS } from './table.js';

/** Where the generated page lives, relative to the repository root. */
export const DETECTION_DOCS_PATH = 'docs/detection.md';

/**
 * docs/detection.md, generated from the detection table so the page cannot drift from the code
 * (`npm run docs:detection` writes it; a test fails when the file differs).
 */
export function renderDetectionDocs(rules: readonly FrameworkRule[] = FRAMEWORKS): string {
  const row = (rule: FrameworkRule, i: number): string =>
    `| ${i + 1} | ${rule.name} (\`${rule.id}\`) | ${rule.looksFor} | ${rule.summary.build} | ${rule.summary.serves} | ${rule.summary.port ?? '—'} |`;
  return [
    '<!-- Generated from src/build/frameworks/table.ts by `npm run docs:detection`; do not edit by hand. -->',
    '# What Slipway detects',
    '',
    'A publish with no flags is built the way its source says. Slipway reads the unpacked source and',
    'tries the rules below **in order**; the first that matches decides how the source is installed,',
    'built and served. `slipway detect <dir>` (or `POST /api/v1/detect`) shows the choice and the',
    'reason for each part of it without building anything, and every build log starts with the same',
    'reasons as `[slipway] detect:` lines.',
    '',
    '| # | detected | looks for | install and build | serves | port |',
    '|---|---|---|---|---|---|',
    ...rules.map(row),
    '',
    '## Rules that apply to every row',
    '',
    '- **Options win.** `build_command`, `output_path`, `run_command` and `port` replace what was',
    '  detected; the install steps stay. A `run_command` makes the version an app even when the rule',
    '  found a site (the site is still built). `kind: static` makes a site of an app (a Node project',
    '  is built with its `build` script), and a Dockerfile is then not looked at.',
    '- **A Dockerfile needs a Docker engine.** With `SLIPWAY_RUNTIME_DRIVER=docker` the engine builds',
    '  the image from it and the image is the release ([docker](docker.md)): Slipway adds no install or',
    '  build step, `build_command` is refused, a `run_command` replaces the image\'s own command and',
    '  `port` the `EXPOSE`d one (no `EXPOSE`: 8080). Without the engine a `run_command` runs the',
    '  source as a process instead.',
    '- **Builds install devDependencies.** Every Node install that precedes a build (detected or',
    '  given) includes devDependencies (`npm ci --include=dev`, `pnpm install --prod=false`,',
    '  `yarn install --production=false`); the install follows the lockfile, and a pnpm or yarn 1',
    '  the host lacks is fetched for the build.',
    '- **Ports.** The port column is the framework\'s convention; the app is also given `PORT`.',
    '  Servers Slipway starts itself (gunicorn, uvicorn, `manage.py runserver`) bind `0.0.0.0:$PORT`.',
    `- **Output.** A site built by a build command Slipway does not know publishes the first of ${DEFAULT_OUTPUT_DIRS.map((d) => `\`${d}\``).join(', ')}`,
    '  that the build made, unless `output_path` says where.',
    '- **A source that needs a build is refused.** When nothing above builds it, a source with a',
    '  `build` script, a framework config (`vite.config.*`, `next.config.*`, `astro.config.*`,',
    '  `svelte.config.*`, `nuxt.config.*`, `angular.json`), a `tsconfig.json` with TypeScript under',
    '  `src/`, or Python files at the root is refused with `build_required`, naming what it found.',
    '  Give `build_command`, or publish the files without a build with `as_is: true`',
    '  (`slipway publish --as-is`; the files a site never serves are still left out).',
    '- **Missing tools** (`node`, a package manager npm cannot fetch, `python3`, `go`, `mix`,',
    '  `hugo`, `jekyll`) are `build_toolchain_missing`, naming what to install on the build host.',
    '',
  ].join('\n');
}
