import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamicReleaseManifest } from '../core/runtime.js';
import type { AppPlan, RequestedKind } from './app-plan.js';
import { detectApp } from './detect-app.js';
import { buildPlannedRelease, type BuildDynamicOptions } from './dynamic-build.js';
import { buildImageRelease, type BuildImageOptions } from './image-release.js';
import { extractSnapshot } from './snapshot.js';
import { createSourceView, snapshotFiles, writeSourceFiles, type SourceFile } from './memory-source.js';
import { buildPlannedFileRelease, buildPlannedStaticRelease, type BuildStaticOptions, type StaticRelease } from './static-build.js';
import type { FileReleaseTarget, StoredStaticRelease } from './static-file-release.js';
import { buildMemoryStaticRelease, isPlainSite } from './static-memory-build.js';

/**
 * Options for {@link buildRelease}: what the builders take, the kind asked for (`auto`
 * decides from the source), `asIs` to publish the files as they are, and `docker`, the engine
 * a root Dockerfile is built on (without it a Dockerfile is `dockerfile_requires_container_driver`).
 */
export type BuildReleaseOptions = BuildStaticOptions & BuildDynamicOptions & Partial<Pick<BuildImageOptions, 'docker' | 'imageTag'>> & {
  kind: RequestedKind;
  asIs?: boolean;
  /**
   * The snapshot's bytes, already in memory: then `snapshotPath` is written only for a build
   * that needs the file, and a plain site is packaged without a tree on disk. Emptied once
   * the bytes are of no more use (see {@link LentSnapshot}).
   */
  snapshot?: LentSnapshot;
  /** Store a static release as format 2 here (per-file blobs, `static-file-release.ts`) instead of a tar. */
  fileRelease?: FileReleaseTarget;
};

/**
 * A snapshot's bytes lent to {@link buildRelease}, which empties the holder as soon as it has no
 * more use for them: once a plain site is packaged, or once the tree a build needs is written.
 * So a build command running for minutes does not keep the snapshot in the server's memory; the
 * lender keeps only the holder.
 */
export interface LentSnapshot {
  bytes: Buffer | undefined;
}

/** A built release of either kind, ready to store under its sha256. */
export type BuiltRelease =
  | ({ kind: 'static' } & StaticRelease)
  | ({ kind: 'static'; stored: true } & StoredStaticRelease)
  | { kind: 'dynamic'; releasePath: string; sha256: string; size: number; manifest: DynamicReleaseManifest };

/**
 * Builds a snapshot into a release: decides what it is with the detection table
 * ({@link detectApp}; a `port` makes an `auto` publish an app), writes each reason to the build
 * log as a `[slipway] detect:` line, then runs the static, the dynamic or (for a Dockerfile,
 * with `docker`) the image builder on the plan. A snapshot given in memory is detected there,
 * and a plain site (no tools, install or build) with `fileRelease` is packaged from memory
 * (docs/architecture.md §2 step 4); anything else is unpacked once into `workDir/src` first.
 */
export async function buildRelease(options: BuildReleaseOptions): Promise<BuiltRelease> {
  const lent = options.snapshot;
  try {
    return await buildFrom(lent?.bytes === undefined ? undefined : snapshotFiles(lent.bytes), options);
  } finally {
    if (lent !== undefined) lent.bytes = undefined;
  }
}

/** {@link buildRelease} from the snapshot's files in memory, or (without them) from its file. */
async function buildFrom(memory: SourceFile[] | undefined, options: BuildReleaseOptions): Promise<BuiltRelease> {
  const srcDir = join(options.workDir, 'src');
  if (memory === undefined) await extractSnapshot(options.snapshotPath, srcDir);
  const plan = await detectApp(memory === undefined ? srcDir : createSourceView(memory), {
    kind: options.kind === 'auto' && options.port !== undefined ? 'dynamic' : options.kind,
    buildCommand: options.buildCommand,
    runCommand: options.runCommand,
    port: options.port,
    outputPath: options.outputPath,
    asIs: options.asIs,
    containerImages: options.docker !== undefined,
  });
  logPlan(plan, options.onLog);
  if (plan.kind === 'static' && memory !== undefined && options.fileRelease !== undefined && isPlainSite(plan)) {
    return { kind: 'static', stored: true, ...(await buildMemoryStaticRelease(plan, memory, { ...options, target: options.fileRelease })) };
  }
  if (memory !== undefined && options.snapshot?.bytes !== undefined) {
    // Image builds read the snapshot file itself (docker-context.ts).
    await writeFile(options.snapshotPath, options.snapshot.bytes);
    await writeSourceFiles(memory, srcDir);
    // The tree is on disk: the build (install, build command, packaging) reads only that.
    memory = undefined;
    options.snapshot.bytes = undefined;
  }
  if (plan.kind === 'static' && options.fileRelease !== undefined) {
    return { kind: 'static', stored: true, ...(await buildPlannedFileRelease(plan, { ...options, target: options.fileRelease })) };
  }
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
