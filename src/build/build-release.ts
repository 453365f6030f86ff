import type { DynamicReleaseManifest } from '../core/runtime.js';
import type { RequestedKind } from './app-plan.js';
import { buildDynamicRelease, type BuildDynamicOptions } from './dynamic-build.js';
import { looksDynamic, peekSnapshot } from './peek-snapshot.js';
import { buildStaticRelease, type BuildStaticOptions, type StaticRelease } from './static-build.js';

/** Options for {@link buildRelease}: what the two builders take, and the kind asked for (`auto` decides from the source). */
export type BuildReleaseOptions = BuildStaticOptions & BuildDynamicOptions & { kind: RequestedKind };

/** A built release of either kind, ready to store under its sha256. */
export type BuiltRelease =
  | ({ kind: 'static' } & StaticRelease)
  | { kind: 'dynamic'; releasePath: string; sha256: string; size: number; manifest: DynamicReleaseManifest };

/**
 * Builds a snapshot into a release: a dynamic app when the publish says so (`kind: dynamic`,
 * a run command or a port) or, for `auto`, when the source looks like a server app (see
 * {@link looksDynamic}); a static site otherwise.
 */
export async function buildRelease(options: BuildReleaseOptions): Promise<BuiltRelease> {
  const dynamic = options.kind === 'dynamic' || options.runCommand !== undefined || options.port !== undefined
    || (options.kind === 'auto' && looksDynamic(await peekSnapshot(options.snapshotPath)));
  if (!dynamic) return { kind: 'static', ...(await buildStaticRelease(options)) };
  options.onLog('[slipway] building a dynamic app\n');
  const release = await buildDynamicRelease(options);
  return { kind: 'dynamic', ...release };
}
