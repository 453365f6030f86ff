/**
 * Projects as users get them, for the real-project e2e tests and the Next.js bench: made by the
 * frameworks' own generators from the npm registry (their templates ship inside the generator
 * packages, so nothing is fetched from GitHub), or, where the generator downloads its template
 * (create-astro), by writing the minimal template's files by hand. Generators are pinned so a
 * run is reproducible; the generated projects keep the generators' own caret ranges, which is
 * what a user gets on that day, while what is written here by hand is pinned exactly. Dependencies are never installed here: the platform's build does that.
 * Each project is made in a fresh temp folder, removed by {@link RealProject.remove}.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCommand } from '../../src/util/child-process.js';

/**
 * The pinned generators and hand-written templates' framework versions (checked with
 * `npm view <pkg> version` on 2026-12-06). Astro is held at 5: Astro 6 and later need Node 22,
 * and the platform builds with the host's Node (20 here). What this file writes by hand is
 * pinned exactly, so a new release cannot change a run; only the generators' own templates keep
 * their ranges.
 */
export const GENERATORS = {
  createVite: 'create-vite@9.3.0',
  createNextApp: 'create-next-app@16.4.3',
  sv: 'sv@0.17.1',
  astro: '5.18.2',
  astroNode: '9.5.5',
  express: '5.3.0',
  /** Geist for the Next.js template without Google Fonts (see `useGeistPackage`). */
  geist: '1.9.2',
} as const;

/** A generated project in its own temp folder. */
export interface RealProject {
  /** The project folder, as the generator left it (plus the files named in each generator). */
  dir: string;
  /** The project's name (its folder name and package.json name). */
  name: string;
  /** Removes the temp folder. */
  remove(): Promise<void>;
}

/** Enough for a cold npm cache to download a generator; a warm one takes a second or two. */
const GENERATOR_TIMEOUT_MS = 180_000;

async function makeProject(name: string, generate: (parent: string) => Promise<void>): Promise<RealProject> {
  const parent = await mkdtemp(join(tmpdir(), 'slipway-real-'));
  const remove = () => rm(parent, { recursive: true, force: true });
  try {
    await generate(parent);
  } catch (err) {
    await remove();
    throw err;
  }
  return { dir: join(parent, name), name, remove };
}

/** Runs a generator with npx, non-interactive (CI=1 makes the prompts take their defaults). */
async function npx(cwd: string, args: string[]): Promise<void> {
  await runCommand(['npx', '--yes', ...args], {
    cwd, timeoutMs: GENERATOR_TIMEOUT_MS, env: { ...process.env, CI: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
}

/** Writes `files` (relative path → content) under `dir`, making folders as needed. */
export async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
}

/**
 * `npm install --package-lock-only`: the lockfile a user commits after their first install,
 * resolved from the registry without downloading the packages.
 */
export async function addLockfile(project: RealProject): Promise<void> {
  await runCommand(['npm', 'install', '--package-lock-only', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: project.dir, timeoutMs: GENERATOR_TIMEOUT_MS, env: { ...process.env, npm_config_update_notifier: 'false' },
  });
}

/** The project's package.json, parsed. */
export async function readPackageJson(project: RealProject): Promise<{ scripts?: Record<string, string>; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }> {
  return JSON.parse(await readFile(join(project.dir, 'package.json'), 'utf8')) as Awaited<ReturnType<typeof readPackageJson>>;
}

/** `npm create vite@<pinned> <name> -- --template react-ts`: a React + TypeScript SPA, no lockfile. */
export function viteReactTs(name = 'rp-vite'): Promise<RealProject> {
  return makeProject(name, (parent) => npx(parent, [GENERATORS.createVite, name, '--template', 'react-ts', '--no-interactive']));
}

/**
 * The template's layout loads Geist through `next/font/google`, which downloads the font from
 * fonts.googleapis.com at build time; where only the npm registry is reachable (CI, this test
 * machine) that fails the build. The same font from the registry's `geist` package (Vercel's,
 * through `next/font/local`) is the offline way Next's error message points to, and keeps the
 * template's CSS variables.
 */
async function useGeistPackage(dir: string): Promise<void> {
  const layoutPath = join(dir, 'app', 'layout.tsx');
  const layout = await readFile(layoutPath, 'utf8');
  const googleImport = 'import { Geist, Geist_Mono } from "next/font/google";\n';
  const fontCalls = /const geistSans = Geist\(\{[^}]*\}\);\n\nconst geistMono = Geist_Mono\(\{[^}]*\}\);\n/;
  if (!layout.includes(googleImport) || !fontCalls.test(layout)) {
    throw new Error(`create-next-app's app/layout.tsx changed: no next/font/google Geist block to replace:\n${layout}`);
  }
  const local = 'import { GeistSans as geistSans } from "geist/font/sans";\nimport { GeistMono as geistMono } from "geist/font/mono";\n';
  await writeFile(layoutPath, layout.replace(googleImport, local).replace(fontCalls, ''));
  const pkgPath = join(dir, 'package.json');
  const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { dependencies: Record<string, string> };
  pkg.dependencies.geist = GENERATORS.geist;
  await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
}

/**
 * `create-next-app@<pinned> --ts --app --use-npm --skip-install --yes`: the App Router
 * template (Tailwind, ESLint), with its Google font taken from the `geist` package instead
 * (see {@link useGeistPackage}), plus what a first app adds: a server route that answers from
 * the request (`/api/echo?q=…`, so it cannot be prerendered) and a nested page (`/about`).
 */
export function nextApp(name = 'rp-next'): Promise<RealProject> {
  return makeProject(name, async (parent) => {
    await npx(parent, [GENERATORS.createNextApp, name, '--ts', '--app', '--use-npm', '--skip-install', '--yes', '--disable-git']);
    await useGeistPackage(join(parent, name));
    await writeFiles(join(parent, name), {
      'app/api/echo/route.ts': [
        'export async function GET(request: Request) {',
        '  const url = new URL(request.url);',
        "  return Response.json({ echo: url.searchParams.get('q'), node: process.version });",
        '}',
        '',
      ].join('\n'),
      'app/about/page.tsx': 'export default function About() {\n  return <h1>About this Next.js app</h1>;\n}\n',
    });
  });
}

/** The SvelteKit adapters the generator can add. */
export type SvelteAdapter = 'static' | 'node';

/**
 * `sv create --template minimal --types ts --add sveltekit-adapter=adapter:<adapter>`, plus a
 * nested page (`/about`). With adapter-static, the root layout prerenders every page, as the
 * adapter's docs ask (without it adapter-static refuses to build); with adapter-node, a server
 * route (`/api/echo?q=…`).
 */
export function svelteKit(adapter: SvelteAdapter, name = `rp-sveltekit-${adapter}`): Promise<RealProject> {
  return makeProject(name, async (parent) => {
    await npx(parent, [
      GENERATORS.sv, 'create', name, '--template', 'minimal', '--types', 'ts', '--add', `sveltekit-adapter=adapter:${adapter}`, '--no-install', '--no-dir-check',
    ]);
    await writeFiles(join(parent, name), {
      'src/routes/about/+page.svelte': '<h1>About this SvelteKit app</h1>\n',
      ...(adapter === 'static'
        ? { 'src/routes/+layout.ts': 'export const prerender = true;\n' }
        : {
          'src/routes/api/echo/+server.ts': [
            "import { json } from '@sveltejs/kit';",
            "import type { RequestHandler } from './$types';",
            '',
            "export const GET: RequestHandler = ({ url }) => json({ echo: url.searchParams.get('q'), node: process.version });",
            '',
          ].join('\n'),
        }),
    });
  });
}

/**
 * Astro's minimal template written by hand (create-astro downloads templates from GitHub): a
 * static site, or with `node: true` the `@astrojs/node` standalone server (`output: 'server'`)
 * with a server route (`/api/echo?q=…`). Both have a nested page (`/about`).
 */
export function astroSite(options: { node?: boolean; name?: string } = {}): Promise<RealProject> {
  const node = options.node === true;
  const name = options.name ?? (node ? 'rp-astro-node' : 'rp-astro');
  const page = (title: string) => `---\n---\n<html lang="en">\n  <head>\n    <meta charset="utf-8" />\n    <link rel="icon" type="image/svg+xml" href="/favicon.svg" />\n    <meta name="viewport" content="width=device-width" />\n    <title>${title}</title>\n  </head>\n  <body>\n    <h1>${title}</h1>\n  </body>\n</html>\n`;
  return makeProject(name, (parent) => writeFiles(join(parent, name), {
    'package.json': `${JSON.stringify({
      name, type: 'module', version: '0.0.1',
      scripts: { dev: 'astro dev', build: 'astro build', preview: 'astro preview', astro: 'astro' },
      dependencies: { astro: GENERATORS.astro, ...(node ? { '@astrojs/node': GENERATORS.astroNode } : {}) },
    }, null, 2)}\n`,
    'astro.config.mjs': node
      ? "// @ts-check\nimport { defineConfig } from 'astro/config';\nimport node from '@astrojs/node';\n\nexport default defineConfig({\n  output: 'server',\n  adapter: node({ mode: 'standalone' }),\n});\n"
      : "// @ts-check\nimport { defineConfig } from 'astro/config';\n\n// https://astro.build/config\nexport default defineConfig({});\n",
    'tsconfig.json': '{\n  "extends": "astro/tsconfigs/strict",\n  "include": [".astro/types.d.ts", "**/*"],\n  "exclude": ["dist"]\n}\n',
    '.gitignore': 'dist/\n.astro/\nnode_modules/\n.env\n',
    'public/favicon.svg': '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"><circle cx="64" cy="64" r="60"/></svg>\n',
    'src/pages/index.astro': page('Astro'),
    'src/pages/about.astro': page('About this Astro site'),
    ...(node ? { 'src/pages/api/echo.ts': "import type { APIRoute } from 'astro';\n\nexport const GET: APIRoute = ({ url }) => Response.json({ echo: url.searchParams.get('q'), node: process.version });\n" } : {}),
  }));
}

/** An Express server with `"start": "node server.js"` that listens on `PORT`, and its lockfile. */
export async function expressApp(name = 'rp-express'): Promise<RealProject> {
  const project = await makeProject(name, (parent) => writeFiles(join(parent, name), {
    'package.json': `${JSON.stringify({ name, version: '1.0.0', private: true, scripts: { start: 'node server.js' }, dependencies: { express: GENERATORS.express } }, null, 2)}\n`,
    'server.js': [
      "const express = require('express');",
      '',
      'const app = express();',
      "app.get('/', (req, res) => res.send('<h1>Hello from Express</h1>'));",
      "app.get('/api/echo', (req, res) => res.json({ echo: req.query.q ?? null, port: Number(process.env.PORT), env: process.env.NODE_ENV ?? null }));",
      'app.listen(Number(process.env.PORT) || 3000);',
      '',
    ].join('\n'),
    '.gitignore': 'node_modules/\n',
  }));
  try {
    await addLockfile(project);
  } catch (err) {
    await project.remove();
    throw err;
  }
  return project;
}

/** A standard-library Python server (`server.py`, http.server on `PORT`), no requirements.txt. */
export function pythonStdlibServer(name = 'rp-python'): Promise<RealProject> {
  return makeProject(name, (parent) => writeFiles(join(parent, name), {
    'server.py': [
      'import json',
      'import os',
      'from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer',
      '',
      '',
      'class Handler(BaseHTTPRequestHandler):',
      '    def do_GET(self):',
      "        body = json.dumps({'app': 'stdlib', 'path': self.path, 'port': int(os.environ.get('PORT', '8000'))}).encode()",
      '        self.send_response(200)',
      "        self.send_header('Content-Type', 'application/json')",
      "        self.send_header('Content-Length', str(len(body)))",
      '        self.end_headers()',
      '        self.wfile.write(body)',
      '',
      '',
      "if __name__ == '__main__':",
      "    ThreadingHTTPServer(('0.0.0.0', int(os.environ.get('PORT', '8000'))), Handler).serve_forever()",
      '',
    ].join('\n'),
    'README.md': '# A standard-library Python server\n\n`python3 server.py`\n',
  }));
}
