import { DEFAULT_PORTS } from './app-plan.js';
import { readSourceFile, requireTool } from './detect-support.js';
import type { AppDetection } from './frameworks/framework-rule.js';
import type { SourceFacts } from './frameworks/source-facts.js';

/** Where compiled apps put what they run, inside the app tree. */
export const SLIPWAY_BUILD_DIR = '.slipway';

/**
 * A Go module (`go.mod` at the root); needs `go`. Built with
 * `go build -trimpath -o .slipway/app .` (the main package at the root) and started as
 * `./.slipway/app`. Modules are downloaded into the build's cache, outside the release; the
 * binary needs none of them.
 */
export async function detectGo(ctx: SourceFacts): Promise<AppDetection | null> {
  if ((await readSourceFile(ctx, 'go.mod')) === undefined) return null;
  await requireTool(ctx, 'go');
  return {
    kind: 'dynamic',
    detected: 'go',
    reasons: ['go.mod found', `build: go build into ${SLIPWAY_BUILD_DIR}/app`, `port ${DEFAULT_PORTS.go}: the Go convention (the app gets PORT)`],
    install: [],
    buildCommand: `go build -trimpath -o ${SLIPWAY_BUILD_DIR}/app .`,
    runCommand: `./${SLIPWAY_BUILD_DIR}/app`,
    port: DEFAULT_PORTS.go,
    canBeStatic: false,
  };
}

/**
 * An Elixir project (`mix.exs` at the root); needs `mix` (`build_toolchain_missing` names
 * `elixir`). When it has dependencies (a `mix.lock`, or `{:name, …}` entries in `mix.exs`)
 * Hex and rebar are installed and the prod dependencies fetched, which needs the network; a
 * project without any builds offline. `MIX_ENV=prod mix release` builds a release (with the
 * Erlang runtime inside) into `.slipway/release`, started as `.slipway/release/bin/<app> start`,
 * `<app>` being the `app:` atom of `mix.exs`; without one there is no run command. The release
 * is read-only at run time, so its scratch files go to `/tmp`, and Erlang distribution is off
 * (an instance is one node, and epmd has nothing to talk to).
 */
export async function detectMix(ctx: SourceFacts): Promise<AppDetection | null> {
  const mixExs = await readSourceFile(ctx, 'mix.exs');
  if (mixExs === undefined) return null;
  await requireTool(ctx, 'mix', 'elixir');
  const app = /\bapp:\s*:([a-z_][a-z0-9_]*)/.exec(mixExs)?.[1];
  const release = `${SLIPWAY_BUILD_DIR}/release`;
  const hasDeps = (await readSourceFile(ctx, 'mix.lock')) !== undefined || /\{:[a-z_][a-z0-9_]*\s*,/.test(mixExs);
  return {
    kind: 'dynamic',
    detected: 'elixir',
    reasons: [
      'mix.exs found',
      hasDeps ? 'dependencies: mix deps.get --only prod' : 'no dependencies: nothing to fetch',
      app === undefined ? 'no app: in mix.exs: nothing to run' : `run: the ${app} release`,
      `port ${DEFAULT_PORTS.elixir}: the Phoenix convention (the app gets PORT)`,
    ],
    install: hasDeps
      ? [
        ['mix', 'local.hex', '--force', '--if-missing'],
        ['mix', 'local.rebar', '--force', '--if-missing'],
        ['mix', 'deps.get', '--only', 'prod'],
      ]
      : [],
    buildCommand: `MIX_ENV=prod mix release --overwrite --path ${release}`,
    runCommand: app === undefined ? undefined : `RELEASE_TMP=/tmp RELEASE_DISTRIBUTION=none ${release}/bin/${app} start`,
    port: DEFAULT_PORTS.elixir,
    canBeStatic: false,
  };
}
