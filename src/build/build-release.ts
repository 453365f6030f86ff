import { join } from 'node:path';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import type { AppPlan, RequestedKind } from './app-plan.js';
import { detectApp } from './detect-app.js';
import { buildPlannedRelease, type BuildDynamicOptions } from './dynamic-build.js';
import { buildImageRelease, type BuildImageOptions } from './image-release.js';
import { extractSnapshot } from './snapshot.js';
import { buildPlannedStaticRelease, type BuildStaticOptions, type StaticRelease } from './static-build.js';

/**
 * Options for {@link buildRelease}: what the builders take, the kind asked for (`auto`
 * decides from the source), `asIs` to publish the files as they are, and `docker`, the engine
 * a root Dockerfile is built on (without it a Dockerfile is `dockerfile_requires_container_driver`).
 */
export type BuildReleaseOptions = BuildStaticOptions & BuildDynamicOptions & Partial<Pick<BuildImageOptions, 'docker' | 'imageTag'>> & {
  kind: RequestedKind;
  asIs?: boolean;
};

/** A built release of either kind, ready to store under its sha256. */
export type BuiltRelease =
  | ({ kind: 'static' } & StaticRelease)
  | { kind: 'dynamic'; releasePath: string; sha256: string; size: number; manifest: DynamicReleaseManifest };

/**
 * Builds a snapshot into a release: unpacks it once into `workDir/src`, decides what it is with
 * the detection table ({@link detectApp}; a `port` makes an `auto` publish an app), writes each
 * reason to the build log as a `[slipway] detect:` line, then runs the static, the dynamic or
 * (for a Dockerfile, with `docker`) the image builder on the plan.
 */
export async function buildRelease(options: BuildReleaseOptions): Promise<BuiltRelease> {
  const srcDir = join(options.workDir, 'src');
  await extractSnapshot(options.snapshotPath, srcDir);
  const plan = await detectApp(srcDir, {
    kind: options.kind === 'auto' && options.port !== undefined ? 'dynamic' : options.kind,
    buildCommand: options.buildCommand,
    runCommand: options.runCommand,
    port: options.port,
    outputPath: options.outputPath,
    asIs: options.asIs,
    containerImages: options.docker !== undefined,
  });
  logPlan(plan, options.onLog);
  if (plan.kind === 'static') return { kind: 'static', ...(await buildPlannedStaticRelease(plan, options)) };
  if (plan.dockerfile !== undefined) {
    options.onLog('[slipway] building an image from the Dockerfile\n');
    // Detection plans a Dockerfile build only with `containerImages`, that is with `docker` set.
    return { kind: 'dynamic', ...(await buildImageRelease(plan, { ...options, docker: options.docker! })) };
  }
  options.onLog('[slipway] building a dynamic app\n');
  return { kind: 'dynamic', ...(await buildPlannedRelease(plan, options)) };
}

/** One `[slipway] detect:` line per reason, the first naming what was detected. */
export function logPlan(plan: AppPlan, onLog: (chunk: string) => void): void {
  onLog(`[slipway] detect: ${plan.detected} (${plan.kind})\n`);
  for (const reason of plan.reasons) onLog(`[slipway] detect: ${reason}\n`);
}
