import { SlipwayError } from '../core/errors.js';
import { BUILD_PATH } from './build-path.js';
import { DEFAULT_PORTS, type AppPlan, type DetectAppOptions, type DynamicAppPlan, type StaticAppPlan } from './app-plan.js';
import { buildRequired, buildSigns } from './detect-build-required.js';
import { nodeToolchain } from './detect-node.js';
import type { SourceView } from './detect-support.js';
import type { AppDetection, Detection } from './frameworks/framework-rule.js';
import { loadSourceFacts, type SourceFacts } from './frameworks/source-facts.js';
import { FRAMEWORKS } from './frameworks/table.js';

export type { AppPlan, DetectAppOptions, DynamicAppPlan, StaticAppPlan } from './app-plan.js';

/** A detection, with the rule that made it. */
interface Found {
  ruleId: string;
  detection: Detection;
}

/**
 * Decides from the unpacked source how a publish is built (docs/architecture.md §2 step 3), with a
 * reason for every choice:
 *
 * 1. `asIs` publishes the files as they are (static only): nothing is detected or built.
 * 2. The rules of the detection table ({@link FRAMEWORKS}, docs/detection.md) are tried in
 *    order; the first match decides. A Dockerfile is skipped for a publish that asks for
 *    `kind: 'static'`, and, without `containerImages`, for one that gives a run command. With
 *    `containerImages` a Dockerfile is the plan ({@link dockerfilePlan}).
 * 3. A `run_command` makes a dynamic app with the match's install and build steps (its port,
 *    else 3000). An app the table knows how to start is dynamic unless `kind: 'static'`.
 * 4. Otherwise it is a site (`kind: 'dynamic'` is then `run_command_missing`): a site framework
 *    with its build and output folder; a Node project whose `build` script (or the user's build
 *    command) makes one, installed with devDependencies; or the files as they are, refused as
 *    `build_required` when they show signs of needing a build ({@link buildSigns}).
 *    An `auto` publish of an app the table cannot start (Python with no entry file) is
 *    `run_command_missing`.
 *
 * The user's `build_command`, `output_path` and `port` replace the detected ones; the install
 * steps stay. With a user build command, an app whose detected build makes its package root
 * (Next.js standalone) runs from the whole tree instead.
 *
 * `source` is the unpacked folder, or a {@link SourceView} of a snapshot held in memory (the
 * same answers, without a tree on disk).
 */
export async function detectApp(source: string | SourceView, options: DetectAppOptions): Promise<AppPlan> {
  const srcDir = typeof source === 'string' ? source : '';
  const view = typeof source === 'string' ? undefined : source;
  if (options.kind === 'static' && options.runCommand !== undefined) {
    throw new SlipwayError('invalid_request', 'kind static takes no run_command', { details: { field: 'run_command' } });
  }
  if (options.asIs) return asIsPlan(options);
  const facts = await loadSourceFacts({
    srcDir, ...(view ? { view } : {}), pathEnv: options.pathEnv ?? BUILD_PATH, hasBuildCommand: options.buildCommand !== undefined, containerImages: options.containerImages,
  });
  const found = await firstMatch(facts, options);
  const detection = found?.detection;
  if (detection?.kind === 'dynamic' && detection.dockerfile !== undefined) return dockerfilePlan(detection, options);
  if (options.runCommand !== undefined) return explicitApp(found, options);
  if (detection?.kind === 'dynamic' && detection.runCommand !== undefined && options.kind !== 'static') {
    return appPlan(detection, options, { runCommand: detection.runCommand });
  }
  if (options.kind === 'dynamic' || (options.kind === 'auto' && detection?.kind === 'dynamic' && !detection.canBeStatic)) {
    throw runCommandMissing(detection);
  }
  return sitePlan(facts, detection, options);
}

async function firstMatch(facts: SourceFacts, options: DetectAppOptions): Promise<Found | null> {
  for (const rule of FRAMEWORKS) {
    if (rule.id === 'dockerfile' && (options.kind === 'static' || (options.runCommand !== undefined && !options.containerImages))) continue;
    const detection = await rule.detect(facts);
    if (detection) return { ruleId: rule.id, detection };
  }
  return null;
}

function asIsPlan(options: DetectAppOptions): StaticAppPlan {
  if (options.kind === 'dynamic' || options.buildCommand !== undefined) {
    throw new SlipwayError('invalid_request', 'as_is publishes files as they are: it takes no build_command and no kind dynamic', {
      details: { field: options.buildCommand !== undefined ? 'build_command' : 'kind' },
    });
  }
  return {
    kind: 'static', detected: 'as-is', reasons: ['as_is: the files as they are, nothing detected or built'], install: [],
    ...(options.outputPath === undefined ? {} : { outputPath: options.outputPath }),
  };
}

function appPlan(detection: AppDetection, options: DetectAppOptions, use: { runCommand: string; reasons?: string[] }): DynamicAppPlan {
  const { runCommand, reasons: extraReasons = [] } = use;
  const userBuild = options.buildCommand;
  const buildCommand = userBuild ?? detection.buildCommand;
  // The user's build does not make our package root; run from the whole tree.
  const dropRoot = userBuild !== undefined && detection.packageRoot !== undefined;
  const run = dropRoot && options.runCommand === undefined ? (detection.runWithoutPackageRoot ?? runCommand) : runCommand;
  const reasons = [
    ...detection.reasons,
    ...(userBuild === undefined ? [] : [`build: ${userBuild} (given, replaces the detected build)`]),
    ...(dropRoot ? [`the whole tree is packaged (the given build does not make ${detection.packageRoot}); run: ${run}`] : []),
    ...extraReasons,
    ...(options.port === undefined ? [] : [`port ${options.port}: given`]),
  ];
  return {
    kind: 'dynamic',
    detected: detection.detected,
    reasons,
    ...(detection.fetchTools?.length ? { fetchTools: detection.fetchTools } : {}),
    install: detection.install,
    ...(buildCommand === undefined ? {} : { buildCommand }),
    runCommand: run,
    port: options.port ?? detection.port,
    ...(detection.packageRoot === undefined || dropRoot || options.runCommand !== undefined ? {} : { packageRoot: detection.packageRoot }),
  };
}

/**
 * A source built from its Dockerfile: the image is the build, so a build command has no place
 * (`invalid_request`); a given run command replaces the image's own command and a given port
 * the EXPOSEd one, each with its reason in place of the detected one.
 */
function dockerfilePlan(detection: AppDetection, options: DetectAppOptions): DynamicAppPlan {
  if (options.buildCommand !== undefined) {
    throw new SlipwayError('invalid_request', 'a Dockerfile is built by its own steps: build_command does not apply (put the step in the Dockerfile)', {
      details: { field: 'build_command' },
    });
  }
  const { runCommand: _run, canBeStatic: _static, runWithoutPackageRoot: _root, ...plan } = detection;
  const run = options.runCommand ?? detection.runCommand ?? '';
  const reasons = detection.reasons.flatMap((reason) => {
    if (reason.startsWith('run: ') && options.runCommand !== undefined) return [`run: ${options.runCommand} (given, by /bin/sh -c in the image instead of its own command)`];
    if ((reason.startsWith('port ') || reason.startsWith('no EXPOSE')) && options.port !== undefined) return [`port ${options.port}: given`];
    return [reason];
  });
  return { ...plan, reasons, runCommand: run, port: options.port ?? detection.port };
}

/** A run command given by the user: the match's install and build stay, the rest is theirs. */
function explicitApp(found: Found | null, options: DetectAppOptions): DynamicAppPlan {
  const runCommand = options.runCommand!;
  const d = found === null || found.ruleId === 'static' ? undefined : found.detection;
  const base: AppDetection = d === undefined
    ? { kind: 'dynamic', detected: 'explicit', reasons: [], install: [], port: DEFAULT_PORTS.explicit, canBeStatic: false }
    : d.kind === 'dynamic'
      ? d
      : { kind: 'dynamic', detected: d.detected, reasons: d.reasons.filter((r) => !r.startsWith('output: ')), fetchTools: d.fetchTools, install: d.install, buildCommand: d.buildCommand, port: DEFAULT_PORTS.explicit, canBeStatic: false };
  return appPlan(base, options, { runCommand, reasons: [`run: ${runCommand} (given)`] });
}

async function sitePlan(facts: SourceFacts, detection: Detection | undefined, options: DetectAppOptions): Promise<StaticAppPlan> {
  const userBuild = options.buildCommand;
  const given = [
    ...(userBuild === undefined ? [] : [`build: ${userBuild} (given)`]),
    ...(options.outputPath === undefined ? [] : [`output: ${options.outputPath} (given)`]),
  ];
  const withOptions = (plan: StaticAppPlan): StaticAppPlan => {
    const buildCommand = userBuild ?? plan.buildCommand;
    const outputPath = options.outputPath ?? plan.outputPath;
    const { buildCommand: _b, outputPath: _o, ...rest } = plan;
    return { ...rest, reasons: [...plan.reasons, ...given], ...(buildCommand === undefined ? {} : { buildCommand }), ...(outputPath === undefined ? {} : { outputPath }) };
  };
  if (detection?.kind === 'static' && detection.detected !== 'static') return withOptions(detection);
  if (detection?.kind === 'dynamic' && detection.canBeStatic && (detection.buildCommand !== undefined || userBuild !== undefined)) {
    return withOptions({
      kind: 'static', detected: detection.detected,
      reasons: [...detection.reasons.filter((r) => !r.startsWith('run: ') && !r.startsWith('port ')), 'a static site: the build makes it'],
      ...(detection.fetchTools?.length ? { fetchTools: detection.fetchTools } : {}),
      install: detection.install, ...(detection.buildCommand === undefined ? {} : { buildCommand: detection.buildCommand }),
    });
  }
  // The files as they are, or what the user's build makes of them.
  const plain: StaticAppPlan = detection?.kind === 'static' ? detection : { kind: 'static', detected: 'static', reasons: ['no framework or app found: the files as they are'], install: [] };
  if (userBuild !== undefined) {
    // A build command given for plain files still gets the Node project's dependencies, dev included.
    const tools = facts.pkg === null ? null : await nodeToolchain(facts, true);
    return withOptions({ ...plain, ...(tools?.fetchTools ? { fetchTools: tools.fetchTools } : {}), install: tools?.install ?? [], reasons: [...plain.reasons, ...(tools?.reasons ?? [])] });
  }
  if (options.outputPath === undefined && plain.outputPath === undefined) {
    const signs = await buildSigns(facts);
    if (signs.length) throw buildRequired(signs);
  }
  return withOptions(plain);
}

function runCommandMissing(found: Detection | undefined): SlipwayError {
  const what = found === undefined || found.detected === 'static'
    ? 'the source is no app Slipway can start (see docs/detection.md)'
    : found.kind === 'static' ? `this ${found.detected} source is a static site` : `this ${found.detected} app does not say how to start it`;
  return new SlipwayError('run_command_missing', `${what}; give run_command (or publish it as kind static)`, {
    details: { detected: found?.detected ?? null },
  });
}
