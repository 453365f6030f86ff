import { SlipwayError } from '../../core/errors.js';
import { DEFAULT_PORTS } from '../app-plan.js';
import { detectGo, detectMix } from '../detect-compiled.js';
import { detectNode } from '../detect-node.js';
import { detectPython } from '../detect-python.js';
import { isSourceFile, readSourceFile, requireTool } from '../detect-support.js';
import { dockerfileExposedPort } from '../dockerfile-expose.js';
import { dockerfileBaseImages } from '../dockerfile-from.js';
import type { FrameworkRule } from './framework-rule.js';
import { found } from './node-rule-kit.js';

/** The port a container app gets when its Dockerfile exposes none (the common container default). */
export const DOCKERFILE_DEFAULT_PORT = 8080;

/**
 * A root Dockerfile. On a host with a container driver (`facts.containerImages`) it is the plan:
 * the engine builds the image from it and the image is the release; the port is the first TCP
 * port its final stage EXPOSEs, else {@link DOCKERFILE_DEFAULT_PORT}; the app runs the image's
 * own command. Elsewhere it is `dockerfile_requires_container_driver`. Skipped for `kind:
 * static`, and, without a container driver, when the publish gives a run command (the source
 * then runs as a process); with one, a run command replaces the image's command instead.
 */
export const dockerfile: FrameworkRule = {
  id: 'dockerfile', name: 'Dockerfile', ecosystem: 'docker',
  looksFor: 'a `Dockerfile` at the root (without a container driver: skipped when the publish gives a run command)',
  summary: {
    build: 'the Dockerfile, with BuildKit on the host\'s Docker engine (SLIPWAY_RUNTIME_DRIVER=docker); no network in build steps',
    serves: 'the image, as containers: its own CMD/ENTRYPOINT (or the given `run_command`), port from its `EXPOSE`; without a container driver refused: `dockerfile_requires_container_driver` (give `run_command` to run the source as a process)',
    port: DOCKERFILE_DEFAULT_PORT,
  },
  async detect(facts) {
    if (!facts.rootFiles.has('Dockerfile')) return null;
    if (!facts.containerImages) {
      throw new SlipwayError(
        'dockerfile_requires_container_driver',
        'this host runs processes, not images: give run_command to run the source as a process, or run Slipway with SLIPWAY_RUNTIME_DRIVER=docker to build and run the Dockerfile',
        { details: { file: 'Dockerfile' } },
      );
    }
    const text = (await readSourceFile(facts, 'Dockerfile')) ?? '';
    const bases = dockerfileBaseImages(text);
    const exposed = dockerfileExposedPort(text);
    const port = exposed?.port ?? DOCKERFILE_DEFAULT_PORT;
    return {
      kind: 'dynamic', detected: 'dockerfile',
      reasons: [
        `${found('Dockerfile')}: the image is built from it with BuildKit on this host's Docker engine, and runs as containers`,
        bases.length ? `base image${bases.length > 1 ? 's' : ''}: ${bases.join(', ')} (must be on the engine: no registry is reachable)` : 'no base image from outside the Dockerfile',
        "run: the image's own CMD/ENTRYPOINT",
        exposed === null
          ? `no EXPOSE: ${port}, the common container default; the app gets PORT`
          : `port ${port}: ${exposed.line}${exposed.inheritedFrom === null ? '' : ` (in stage ${exposed.inheritedFrom}, which the final stage is built from)`}`,
      ],
      install: [], runCommand: '', port, dockerfile: 'Dockerfile', canBeStatic: false,
    };
  },
};

/** Hugo: a `hugo.*` config, or a `config.*` beside a `content/` folder; needs `hugo` on the host. */
export const hugo: FrameworkRule = {
  id: 'hugo', name: 'Hugo', ecosystem: 'hugo',
  looksFor: '`hugo.toml`/`.yaml`/`.json`, or `config.toml`/`.yaml` with a `content/` folder',
  summary: { build: '`hugo --minify` (needs hugo on the build host)', serves: 'static: `public`' },
  async detect(facts) {
    const own = ['hugo.toml', 'hugo.yaml', 'hugo.json'].find((f) => facts.rootFiles.has(f));
    const generic = facts.rootDirs.has('content') ? ['config.toml', 'config.yaml'].find((f) => facts.rootFiles.has(f)) : undefined;
    const config = own ?? generic;
    if (config === undefined) return null;
    await requireTool(facts, 'hugo');
    return {
      kind: 'static', detected: 'hugo',
      reasons: [found(config), ...(own === undefined ? ['content/ found'] : []), 'build: hugo --minify', "output: public (Hugo's default)"],
      install: [], buildCommand: 'hugo --minify', outputPath: 'public',
    };
  },
};

/** Jekyll: `_config.yml` and a `Gemfile`; needs `jekyll` on the host (gems are not installed). */
export const jekyll: FrameworkRule = {
  id: 'jekyll', name: 'Jekyll', ecosystem: 'ruby',
  looksFor: '`_config.yml` and a `Gemfile`',
  summary: { build: '`jekyll build` (needs jekyll on the build host)', serves: 'static: `_site`' },
  async detect(facts) {
    if (!facts.rootFiles.has('_config.yml') || !facts.rootFiles.has('Gemfile')) return null;
    await requireTool(facts, 'jekyll');
    return {
      kind: 'static', detected: 'jekyll',
      reasons: [found('_config.yml'), found('Gemfile'), 'build: jekyll build', "output: _site (Jekyll's default)"],
      install: [], buildCommand: 'jekyll build', outputPath: '_site',
    };
  },
};

/** Any other Node project: see {@link detectNode}. */
export const nodeServer: FrameworkRule = {
  id: 'node', name: 'Node server (Express, Fastify, Koa, Nest, …)', ecosystem: 'node',
  looksFor: 'a `package.json` that no framework above claimed',
  summary: { build: 'install (devDependencies too when it builds), `npm run build` when there is a build script', serves: 'server: the start script (run directly when it is a plain command, else `npm start`), else `node <main>`, else `node server.js`; none of them: a static site built by the build script', port: DEFAULT_PORTS.node },
  detect: detectNode,
};

/** Python: see {@link detectPython}. */
export const python: FrameworkRule = {
  id: 'python', name: 'Python (Django, FastAPI, Flask, standard library)', ecosystem: 'python',
  looksFor: '`requirements.txt`, `pyproject.toml`, `manage.py`, or a root `app.py`/`main.py`/`server.py`',
  summary: { build: 'a `.venv` with `pip install -r requirements.txt` or `pip install .` (uv when uv.lock and uv are there); nothing for the standard library', serves: 'server: gunicorn/uvicorn on `0.0.0.0:$PORT` when they are dependencies, `manage.py runserver`, else `python3 <entry>`', port: DEFAULT_PORTS.python },
  detect: detectPython,
};

/** Go: see {@link detectGo}. */
export const go: FrameworkRule = {
  id: 'go', name: 'Go', ecosystem: 'go',
  looksFor: '`go.mod`',
  summary: { build: '`go build -trimpath -o .slipway/app .`', serves: 'server: `./.slipway/app`', port: DEFAULT_PORTS.go },
  detect: detectGo,
};

/** Elixir and Phoenix: see {@link detectMix}. */
export const elixir: FrameworkRule = {
  id: 'elixir', name: 'Elixir / Phoenix', ecosystem: 'elixir',
  looksFor: '`mix.exs`',
  summary: { build: '`mix deps.get --only prod` when there are dependencies, `MIX_ENV=prod mix release`', serves: 'server: `.slipway/release/bin/<app> start`', port: DEFAULT_PORTS.elixir },
  detect: detectMix,
};

/** Plain files: an `index.html` at the root, else in `public/`. */
export const staticFiles: FrameworkRule = {
  id: 'static', name: 'Static files', ecosystem: 'static',
  looksFor: '`index.html` at the root or in `public/`',
  summary: { build: 'nothing', serves: 'static: the root, or `public`' },
  async detect(facts) {
    if (facts.rootFiles.has('index.html')) return { kind: 'static', detected: 'static', reasons: ['index.html at the root: the files as they are'], install: [] };
    if (!facts.rootDirs.has('public')) return null;
    if (!(await isSourceFile(facts, 'public/index.html'))) return null;
    return { kind: 'static', detected: 'static', reasons: ['public/index.html found: the public folder as it is'], install: [], outputPath: 'public' };
  },
};
