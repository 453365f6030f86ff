import type { StaticAppPlan } from '../app-plan.js';
import { buildStep, nodeToolchain } from '../detect-node.js';
import type { AppDetection } from './framework-rule.js';
import type { SourceFacts } from './source-facts.js';

/** A Node framework's static site, for {@link nodeSite}. */
export interface NodeSiteSpec {
  id: string;
  /** Why it is this framework (`package.json depends on vite (^6.0.0)`). */
  found: string[];
  /** The build when package.json has no build script, run through the manager (`vite build`). */
  fallbackBuild: string;
  outputPath: string;
  /** Why the output is there (`Vite's default`). */
  outputWhy: string;
}

/** Installs (devDependencies included), builds and publishes a folder. */
export async function nodeSite(facts: SourceFacts, spec: NodeSiteSpec): Promise<StaticAppPlan> {
  const tools = await nodeToolchain(facts, true);
  const build = buildStep(facts, tools.manager, spec.fallbackBuild);
  return {
    kind: 'static',
    detected: spec.id,
    reasons: [...spec.found, ...tools.reasons, build.reason, `output: ${spec.outputPath} (${spec.outputWhy})`],
    ...(tools.fetchTools ? { fetchTools: tools.fetchTools } : {}),
    install: tools.install,
    buildCommand: build.command,
    outputPath: spec.outputPath,
  };
}

/** A Node framework's server, for {@link nodeApp}. */
export interface NodeAppSpec {
  id: string;
  found: string[];
  fallbackBuild: string;
  /** Replaces the build step whole (Next.js standalone wraps the build script). */
  buildCommand?: { command: string; reason: string };
  runCommand: string;
  runWhy: string;
  port: number;
  portWhy: string;
  /** Only this folder of the built tree is packaged, and it is where the app runs. */
  packageRoot?: string;
  /** With `packageRoot`: the run command from the whole tree, when the user's build replaces ours. */
  runWithoutPackageRoot?: string;
}

/** Installs (devDependencies included), builds and runs a server. */
export async function nodeApp(facts: SourceFacts, spec: NodeAppSpec): Promise<AppDetection> {
  const tools = await nodeToolchain(facts, true);
  const build = spec.buildCommand ?? buildStep(facts, tools.manager, spec.fallbackBuild);
  return {
    kind: 'dynamic',
    detected: spec.id,
    reasons: [
      ...spec.found, ...tools.reasons, build.reason,
      ...(spec.packageRoot === undefined ? [] : [`only ${spec.packageRoot} is packaged: it holds the server and the files it needs`]),
      `run: ${spec.runCommand} (${spec.runWhy})`, `port ${spec.port}: ${spec.portWhy}`,
    ],
    ...(tools.fetchTools ? { fetchTools: tools.fetchTools } : {}),
    install: tools.install,
    buildCommand: build.command,
    runCommand: spec.runCommand,
    port: spec.port,
    ...(spec.packageRoot === undefined ? {} : { packageRoot: spec.packageRoot }),
    ...(spec.runWithoutPackageRoot === undefined ? {} : { runWithoutPackageRoot: spec.runWithoutPackageRoot }),
    canBeStatic: false,
  };
}

/** The reason for a config file: `vite.config.ts found`. */
export function found(file: string): string {
  return `${file} found`;
}
