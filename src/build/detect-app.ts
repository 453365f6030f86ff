import { SlipwayError } from '../core/errors.js';
import { BUILD_PATH } from './build-path.js';
import { DEFAULT_PORTS, type AppPlan, type DetectAppOptions, type EcosystemPlan } from './app-plan.js';
import { detectGo, detectMix } from './detect-compiled.js';
import { detectNode } from './detect-node.js';
import { detectPython } from './detect-python.js';
import { isSourceFile, type DetectContext } from './detect-support.js';

export type { AppPlan, DetectAppOptions, DynamicAppPlan, StaticAppPlan } from './app-plan.js';

/** Ecosystems in the order they are tried; the first whose marker file exists wins. */
const DETECTORS = [detectNode, detectPython, detectGo, detectMix] as const;

/**
 * Decides from the unpacked source how a publish is built (ARCHITECTURE §2 step 2):
 *
 * 1. `kind: 'static'` is a static site, whatever the source holds (`invalid_request` with a
 *    `run_command`, which only a dynamic app has).
 * 2. A root `Dockerfile` without a `run_command` is `dockerfile_requires_container_driver`:
 *    this driver runs processes, not images. With a `run_command` the Dockerfile is ignored.
 * 3. The first marker found picks the ecosystem: `package.json` (Node), `requirements.txt` or
 *    `pyproject.toml` (Python), `go.mod` (Go), `mix.exs` (Elixir); see each detector for its
 *    install, build and run commands and the tools it needs (`build_toolchain_missing`).
 *    The user's `build_command` and `run_command` replace the detected ones; the install
 *    steps stay.
 * 4. With no run command, given or detected: a Node project or a tree with no marker is a
 *    static site for `auto` (the caller runs the static builder with the user's build command;
 *    nothing is installed for it); anything else, and any `kind: 'dynamic'`, is
 *    `run_command_missing`.
 *
 * The port is the given one, else 3000 for Node, 8000 for Python, 8080 for Go, 4000 for
 * Elixir and 3000 for an explicit app with no marker.
 */
export async function detectApp(srcDir: string, options: DetectAppOptions): Promise<AppPlan> {
  if (options.kind === 'static') {
    if (options.runCommand !== undefined) {
      throw new SlipwayError('invalid_request', 'kind static takes no run_command', { details: { field: 'run_command' } });
    }
    return { kind: 'static' };
  }
  const ctx: DetectContext = { srcDir, pathEnv: options.pathEnv ?? BUILD_PATH, hasBuildCommand: options.buildCommand !== undefined };
  if (options.runCommand === undefined && (await isSourceFile(ctx, 'Dockerfile'))) {
    throw new SlipwayError(
      'dockerfile_requires_container_driver',
      'this driver runs processes, not images; give run_command, or use a container driver',
      { details: { file: 'Dockerfile' } },
    );
  }
  const found = await detectEcosystem(ctx);
  const runCommand = options.runCommand ?? found?.runCommand;
  if (runCommand === undefined) {
    if (options.kind === 'auto' && (found === null || found.canBeStatic)) return { kind: 'static' };
    throw runCommandMissing(found);
  }
  const buildCommand = options.buildCommand ?? found?.buildCommand;
  return {
    kind: 'dynamic',
    detected: found?.detected ?? 'explicit',
    ...(found?.fetchTools?.length ? { fetchTools: found.fetchTools } : {}),
    install: found?.install ?? [],
    ...(buildCommand === undefined ? {} : { buildCommand }),
    runCommand,
    port: options.port ?? found?.port ?? DEFAULT_PORTS.explicit,
  };
}

async function detectEcosystem(ctx: DetectContext): Promise<EcosystemPlan | null> {
  for (const detect of DETECTORS) {
    const found = await detect(ctx);
    if (found) return found;
  }
  return null;
}

function runCommandMissing(found: EcosystemPlan | null): SlipwayError {
  const what = found === null ? 'the source has no package.json, requirements.txt, pyproject.toml, go.mod or mix.exs' : `this ${found.detected} app does not say how to start it`;
  return new SlipwayError('run_command_missing', `${what}; give run_command (or publish it as kind static)`, {
    details: { detected: found?.detected ?? null },
  });
}
