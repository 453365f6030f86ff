import { SlipwayError } from '../../core/errors.js';
import { buildStep, execBinary, nodeToolchain } from '../detect-node.js';
import { readSourceFile } from '../detect-support.js';
import { startScriptRun } from '../start-script.js';
import type { FrameworkRule } from './framework-rule.js';
import { found, nodeApp, nodeSite } from './node-rule-kit.js';
import { configFile, dependency, dependencyWithPrefix, dependsOn } from './source-facts.js';

/** Where Next.js writes a standalone server, packaged alone (it carries its own traced node_modules). */
export const NEXT_STANDALONE_DIR = '.next/standalone';

/**
 * Next.js. `output: 'export'` in next.config is a static site in `out`. Anything else is a
 * server built as standalone output: `NEXT_PRIVATE_STANDALONE=true` at build time makes
 * `output: 'standalone'` Next's default (next's `config-shared.js`, checked on next 15.5), so
 * the build writes `.next/standalone/server.js` with only the modules it needs. The build then
 * copies `.next/static` and `public` beside it, as Next's docs ask, and only that folder is
 * packaged: a few thousand files instead of the whole node_modules. The standalone server reads
 * `PORT` and `HOSTNAME`; `HOSTNAME=0.0.0.0` makes it listen on every interface (the shell may
 * have set HOSTNAME to the machine's name).
 */
export const nextjs: FrameworkRule = {
  id: 'nextjs', name: 'Next.js', ecosystem: 'node',
  looksFor: '`next` in package.json; `output: \'export\'` in next.config.* makes it static',
  summary: {
    build: 'install with devDependencies, `npm run build` (or `next build`) with `NEXT_PRIVATE_STANDALONE=true`, then `.next/static` and `public` copied into `.next/standalone`',
    serves: 'server: `HOSTNAME=0.0.0.0 node server.js` in `.next/standalone` (only that folder is packaged); static export: `out`',
    port: 3000,
  },
  async detect(facts) {
    const range = dependency(facts, 'next');
    if (range === undefined) return null;
    const config = configFile(facts, 'next.config');
    const reasons = [dependsOn('next', range), ...(config === undefined ? [] : [found(config)])];
    const text = config === undefined ? '' : ((await readSourceFile(facts, config)) ?? '');
    if (/\boutput\s*:\s*['"]export['"]/.test(text)) {
      return nodeSite(facts, { id: 'nextjs', found: [...reasons, `${config} sets output: 'export'`], fallbackBuild: 'next build', outputPath: 'out', outputWhy: "Next's static export" });
    }
    const tools = await nodeToolchain(facts, true);
    const build = buildStep(facts, tools.manager, 'next build');
    const copy = `cp -R .next/static ${NEXT_STANDALONE_DIR}/.next/static && if [ -d public ]; then cp -R public ${NEXT_STANDALONE_DIR}/public; fi`;
    return nodeApp(facts, {
      id: 'nextjs', found: reasons, fallbackBuild: 'next build',
      buildCommand: {
        command: `NEXT_PRIVATE_STANDALONE=true ${build.command} && ${copy}`,
        reason: `${build.reason}, with NEXT_PRIVATE_STANDALONE=true for standalone output; .next/static and public copied beside the server`,
      },
      runCommand: 'HOSTNAME=0.0.0.0 node server.js', runWhy: "Next's standalone server", port: 3000, portWhy: "Next's default (it reads PORT)",
      packageRoot: NEXT_STANDALONE_DIR, runWithoutPackageRoot: execBinary(tools.manager, 'next start'),
    });
  },
};

/**
 * Nuxt. A build script that runs `nuxt generate` is a static site in `.output/public`; otherwise
 * `nuxt build` makes a self-contained Nitro server in `.output`, packaged alone.
 */
export const nuxt: FrameworkRule = {
  id: 'nuxt', name: 'Nuxt', ecosystem: 'node',
  looksFor: '`nuxt` in package.json; a build script running `nuxt generate` makes it static',
  summary: { build: 'install with devDependencies, `npm run build` (or `nuxt build`)', serves: 'server: `node server/index.mjs` in `.output` (only that folder is packaged); generate: `.output/public`', port: 3000 },
  async detect(facts) {
    const range = dependency(facts, 'nuxt');
    if (range === undefined) return null;
    const reasons = [dependsOn('nuxt', range), ...[configFile(facts, 'nuxt.config')].filter((f) => f !== undefined).map(found)];
    if (/\bnuxt\s+generate\b/.test(facts.pkg?.scripts.build ?? '')) {
      return nodeSite(facts, { id: 'nuxt', found: [...reasons, 'the build script runs nuxt generate'], fallbackBuild: 'nuxt generate', outputPath: '.output/public', outputWhy: "nuxt generate's output" });
    }
    return nodeApp(facts, {
      id: 'nuxt', found: reasons, fallbackBuild: 'nuxt build', runCommand: 'node server/index.mjs', runWhy: "Nuxt's Nitro server",
      port: 3000, portWhy: "Nuxt's default (it reads PORT)", packageRoot: '.output', runWithoutPackageRoot: 'node .output/server/index.mjs',
    });
  },
};

/** Astro: a static site in `dist`, or with `@astrojs/node` a server (`dist/server/entry.mjs`). */
export const astro: FrameworkRule = {
  id: 'astro', name: 'Astro', ecosystem: 'node',
  looksFor: '`astro` in package.json; `@astrojs/node` makes it a server',
  summary: { build: 'install with devDependencies, `npm run build` (or `astro build`)', serves: 'static: `dist`; with @astrojs/node: `HOST=0.0.0.0 node ./dist/server/entry.mjs`', port: 4321 },
  async detect(facts) {
    const range = dependency(facts, 'astro');
    if (range === undefined) return null;
    const reasons = [dependsOn('astro', range), ...[configFile(facts, 'astro.config')].filter((f) => f !== undefined).map(found)];
    const node = dependency(facts, '@astrojs/node');
    if (node === undefined) {
      return nodeSite(facts, { id: 'astro', found: [...reasons, 'no @astrojs/node adapter: a static site'], fallbackBuild: 'astro build', outputPath: 'dist', outputWhy: "Astro's default" });
    }
    return nodeApp(facts, {
      id: 'astro', found: [...reasons, dependsOn('@astrojs/node', node)], fallbackBuild: 'astro build',
      runCommand: 'HOST=0.0.0.0 node ./dist/server/entry.mjs', runWhy: "the @astrojs/node standalone server", port: 4321, portWhy: "Astro's default (it reads PORT)",
    });
  },
};

/**
 * SvelteKit: the adapter decides. adapter-static is a site in `build`, adapter-node a server
 * (`node build`). adapter-auto (the template's default) builds for no host it recognises here,
 * so it is refused with what to change rather than published broken.
 */
export const sveltekit: FrameworkRule = {
  id: 'sveltekit', name: 'SvelteKit', ecosystem: 'node',
  looksFor: '`@sveltejs/kit` in package.json; the adapter (`adapter-static` or `adapter-node`) decides',
  summary: { build: 'install with devDependencies, `npm run build` (or `vite build`)', serves: 'adapter-static: `build`; adapter-node: `node build`; adapter-auto: refused (`run_command_missing`)', port: 3000 },
  async detect(facts) {
    const range = dependency(facts, '@sveltejs/kit');
    if (range === undefined) return null;
    const config = configFile(facts, 'svelte.config');
    const text = config === undefined ? '' : ((await readSourceFile(facts, config)) ?? '');
    const reasons = [dependsOn('@sveltejs/kit', range), ...(config === undefined ? [] : [found(config)])];
    const uses = (adapter: string): boolean => text.includes(`@sveltejs/adapter-${adapter}`) || (config === undefined && dependency(facts, `@sveltejs/adapter-${adapter}`) !== undefined);
    if (uses('static')) {
      return nodeSite(facts, { id: 'sveltekit', found: [...reasons, 'adapter-static: a static site'], fallbackBuild: 'vite build', outputPath: 'build', outputWhy: "adapter-static's default" });
    }
    if (uses('node')) {
      return nodeApp(facts, {
        id: 'sveltekit', found: [...reasons, 'adapter-node: a server'], fallbackBuild: 'vite build',
        runCommand: 'node build', runWhy: "adapter-node's server", port: 3000, portWhy: "adapter-node's default (it reads PORT)",
      });
    }
    throw new SlipwayError('run_command_missing', 'this SvelteKit app uses adapter-auto (or no adapter), which builds for no host Slipway runs: use @sveltejs/adapter-node for a server or @sveltejs/adapter-static for a static site in svelte.config.js', {
      details: { detected: 'sveltekit' },
    });
  },
};

/**
 * Remix and React Router 7 (framework mode): the start script after the build (run directly
 * when it is a plain command such as `react-router-serve ./build/server/index.js`, else
 * `npm start`), or SPA mode's `build/client`.
 */
export const remix: FrameworkRule = {
  id: 'remix', name: 'Remix / React Router', ecosystem: 'node',
  looksFor: 'an `@remix-run/*` or `@react-router/*` package in package.json',
  summary: { build: 'install with devDependencies, `npm run build`', serves: 'server: the start script (run directly when it is a plain command, else `npm start`); no start script (SPA mode): static `build/client`', port: 3000 },
  async detect(facts) {
    const pkg = dependencyWithPrefix(facts, '@remix-run/') ?? dependencyWithPrefix(facts, '@react-router/');
    if (pkg === undefined) return null;
    const reasons = [dependsOn(...pkg)];
    const start = facts.pkg?.scripts.start;
    if (start === undefined) {
      return nodeSite(facts, { id: 'remix', found: [...reasons, 'no start script: SPA mode'], fallbackBuild: 'react-router build', outputPath: 'build/client', outputWhy: 'the client build' });
    }
    const run = await startScriptRun(facts, start);
    return nodeApp(facts, {
      id: 'remix', found: reasons, fallbackBuild: 'react-router build', runCommand: run.command, runWhy: run.why,
      port: 3000, portWhy: "the serve command's default (it reads PORT)",
    });
  },
};
