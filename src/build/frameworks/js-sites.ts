import { readSourceFile } from '../detect-support.js';
import type { FrameworkRule } from './framework-rule.js';
import { found, nodeSite } from './node-rule-kit.js';
import { configFile, dependency, dependsOn, type SourceFacts } from './source-facts.js';

/** `reason` for a dependency when package.json has it. */
function dep(facts: SourceFacts, name: string): string | undefined {
  const range = dependency(facts, name);
  return range === undefined ? undefined : dependsOn(name, range);
}

/** Gatsby: always a static site in `public`. */
export const gatsby: FrameworkRule = {
  id: 'gatsby', name: 'Gatsby', ecosystem: 'node',
  looksFor: '`gatsby` in package.json',
  summary: { build: 'install with devDependencies, `npm run build` (or `gatsby build`)', serves: 'static: `public`' },
  async detect(facts) {
    const why = dep(facts, 'gatsby');
    if (why === undefined) return null;
    return nodeSite(facts, { id: 'gatsby', found: [why], fallbackBuild: 'gatsby build', outputPath: 'public', outputWhy: "Gatsby's output" });
  },
};

/** Docusaurus: a static site in `build`. */
export const docusaurus: FrameworkRule = {
  id: 'docusaurus', name: 'Docusaurus', ecosystem: 'node',
  looksFor: '`@docusaurus/core` in package.json',
  summary: { build: 'install with devDependencies, `npm run build` (or `docusaurus build`)', serves: 'static: `build`' },
  async detect(facts) {
    const why = dep(facts, '@docusaurus/core');
    if (why === undefined) return null;
    return nodeSite(facts, { id: 'docusaurus', found: [why], fallbackBuild: 'docusaurus build', outputPath: 'build', outputWhy: "Docusaurus's output" });
  },
};

/**
 * Angular: the output folder comes from angular.json (the default project, else the first):
 * `<outputPath>/browser` for the application builder (Angular 17+), `<outputPath>` for the
 * older browser builder; `dist/<project>` when it names none.
 */
export const angular: FrameworkRule = {
  id: 'angular', name: 'Angular', ecosystem: 'node',
  looksFor: '`@angular/core` in package.json and an `angular.json`',
  summary: { build: 'install with devDependencies, `npm run build` (or `ng build`)', serves: 'static: `dist/<project>/browser` (application builder) or `dist/<project>`, from angular.json' },
  async detect(facts) {
    const why = dep(facts, '@angular/core');
    if (why === undefined || !facts.rootFiles.has('angular.json')) return null;
    const output = angularOutput(await readSourceFile(facts, 'angular.json'));
    return nodeSite(facts, { id: 'angular', found: [why, found('angular.json')], fallbackBuild: 'ng build', outputPath: output.path, outputWhy: output.why });
  },
};

/** Create React App: a static site in `build`. */
export const createReactApp: FrameworkRule = {
  id: 'create-react-app', name: 'Create React App', ecosystem: 'node',
  looksFor: '`react-scripts` in package.json',
  summary: { build: 'install with devDependencies, `npm run build` (or `react-scripts build`)', serves: 'static: `build`' },
  async detect(facts) {
    const why = dep(facts, 'react-scripts');
    if (why === undefined) return null;
    return nodeSite(facts, { id: 'create-react-app', found: [why], fallbackBuild: 'react-scripts build', outputPath: 'build', outputWhy: "Create React App's output" });
  },
};

/**
 * Vite (React, Vue, Svelte, vanilla): a static site in `dist`, or the `build.outDir` its config
 * names. A `start` script that does not run vite means a server that uses Vite for its assets
 * (Express + Vite SSR): that is left to the Node rule.
 */
export const vite: FrameworkRule = {
  id: 'vite', name: 'Vite', ecosystem: 'node',
  looksFor: '`vite` in package.json, or a `vite.config.*` beside a package.json (not when a `start` script runs something else)',
  summary: { build: 'install with devDependencies, `npm run build` (or `vite build`)', serves: 'static: `dist` (or `build.outDir`)' },
  async detect(facts) {
    if (facts.pkg === null) return null;
    const config = configFile(facts, 'vite.config');
    const why = dep(facts, 'vite');
    if (why === undefined && config === undefined) return null;
    const start = facts.pkg.scripts.start;
    if (start !== undefined && !/\bvite\b/.test(start)) return null;
    const outDir = config === undefined ? undefined : /\boutDir\s*:\s*['"]([\w./-]+)['"]/.exec((await readSourceFile(facts, config)) ?? '')?.[1];
    const outputPath = normalizeRel(outDir) ?? 'dist';
    return nodeSite(facts, {
      id: 'vite', found: [...(why === undefined ? [] : [why]), ...(config === undefined ? [] : [found(config)])],
      fallbackBuild: 'vite build', outputPath, outputWhy: outputPath === 'dist' ? "Vite's default" : `build.outDir in ${config}`,
    });
  },
};

/** A relative path inside the source, or undefined (`./dist/` → `dist`, `../x` → undefined). */
export function normalizeRel(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const rel = path.replace(/^\.\/+/, '').replace(/\/+$/, '');
  return rel === '' || rel.startsWith('/') || rel.split('/').includes('..') ? undefined : rel;
}

function angularOutput(text: string | undefined): { path: string; why: string } {
  let json: { defaultProject?: unknown; projects?: Record<string, { architect?: { build?: { builder?: unknown; options?: { outputPath?: unknown } } } }> } = {};
  try {
    json = JSON.parse(text ?? '{}') as typeof json;
  } catch {
    // An unreadable angular.json: the build will say so; fall back to the default folder.
  }
  const projects = json.projects ?? {};
  const name = typeof json.defaultProject === 'string' && json.defaultProject in projects ? json.defaultProject : Object.keys(projects)[0] ?? 'app';
  const build = projects[name]?.architect?.build;
  const raw = build?.options?.outputPath;
  const base = normalizeRel(typeof raw === 'string' ? raw : typeof raw === 'object' && raw !== null && typeof (raw as { base?: unknown }).base === 'string' ? (raw as { base: string }).base : undefined) ?? `dist/${name}`;
  const application = typeof build?.builder === 'string' && build.builder.endsWith(':application');
  return application
    ? { path: `${base}/browser`, why: `angular.json: project ${name}, application builder writes the site to browser/` }
    : { path: base, why: `angular.json: project ${name}'s outputPath` };
}
