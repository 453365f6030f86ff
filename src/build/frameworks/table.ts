import type { FrameworkRule } from './framework-rule.js';
import { astro, nextjs, nuxt, remix, sveltekit } from './js-apps.js';
import { angular, createReactApp, docusaurus, gatsby, vite } from './js-sites.js';
import { dockerfile, elixir, go, hugo, jekyll, nodeServer, python, staticFiles } from './other-rules.js';

/**
 * The detection table, in the order rules are tried; the first match wins (docs/detection.md
 * is generated from it). Why this order:
 * - the Dockerfile first: it is the author's own statement of how the app runs;
 * - frameworks that carry Vite inside (Next.js, Nuxt, Astro, SvelteKit, Remix / React Router)
 *   before the ones that are plain sites, and all of them before plain Vite, which would
 *   otherwise claim them by their `vite` dependency;
 * - site generators with no package.json (Hugo, Jekyll) before the generic ecosystems;
 * - generic Node before Python, Go and Elixir, as before (a repository with package.json and
 *   requirements.txt has long been a Node app here);
 * - plain files last.
 */
export const FRAMEWORKS: readonly FrameworkRule[] = [
  dockerfile,
  nextjs,
  nuxt,
  astro,
  sveltekit,
  remix,
  gatsby,
  docusaurus,
  angular,
  createReactApp,
  vite,
  hugo,
  jekyll,
  nodeServer,
  python,
  go,
  elixir,
  staticFiles,
];
