import { SlipwayError, toSlipwayError } from '../core/errors.js';
import type { ServiceContext } from './context.js';
import { markReferencedBlobs } from './gc/blob-marks.js';
import { markReleasesCollected } from './gc/collect-release.js';
import { collectDockerImages, noDockerGc, type DockerGcResult } from './gc/docker-images.js';
import type { GcConfig } from './gc/gc-config.js';
import { findCollectable } from './gc/retention.js';
import { sweepScratch, type ScratchSweepResult } from './gc/scratch-sweep.js';

/** What one collection did (or, for a dry run, would do). */
export interface GcReport {
  dry_run: boolean;
  started_at: string;
  duration_ms: number;
  /** Versions whose releases were (would be) collected. */
  versions: Array<{ id: string; deployment_id: string; version_number: number }>;
  /** Blobs no one names any more, older than the grace time, deleted (would be). */
  blobs: { count: number; bytes: number };
  /** Blobs kept: named by some version, or too recent. */
  kept_blobs: { count: number; bytes: number };
  /** Build trees, build logs and uploads that crashed work left behind. */
  scratch: ScratchSweepResult;
  /** Images removed from the Docker engine (would be); zero without SLIPWAY_RUNTIME_DRIVER=docker. */
  images: DockerGcResult['images'];
  /** Images the engine keeps. */
  kept_images: DockerGcResult['kept_images'];
  /** BuildKit's build cache pruned to SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES. */
  build_cache: DockerGcResult['build_cache'];
  /** Why the engine's part was skipped (it did not answer), when it was. */
  docker_error?: string;
}

/** The one lock every server sharing the store takes to collect, so one collection runs at a time. */
const GC_LOCK = 'slipway:gc';

/**
 * Retention and mark-and-sweep garbage collection (docs/operations.md#disk-and-garbage-collection).
 * A run: note the start S; collect the releases the retention policy lets go (each marked under
 * its deployment's ring lock, with an event); mark every blob the store names; delete the
 * blobs that are unmarked and were last written before S − grace. A blob a publish in flight
 * stores (or stores again: that refreshes its time) is younger than that, so a concurrent
 * publish never loses one. Last, with a Docker engine, the images of collected versions and
 * BuildKit's cache beyond its bound (`gc/docker-images.ts`).
 */
export class GcService {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();
  #stopped = false;
  // Aborted by stop(): the Docker part (a prune may take minutes) ends instead of holding the
  // server's shutdown past up's kill deadline with the store still open.
  readonly #stopping = new AbortController();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly config: GcConfig,
  ) {}

  /** Runs a collection now (waiting for one running elsewhere to end first). */
  run(options: { dryRun?: boolean } = {}): Promise<GcReport> {
    return this.ctx.store.withLock(GC_LOCK, () => this.#collect(options.dryRun === true));
  }

  /** Collects on its own: first after `firstRunDelayMs`, then every `intervalMs`. */
  start(): void {
    if (this.config.intervalMs <= 0) return;
    const tick = (delay: number) => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.#running = this.run().then(
          (report) => this.ctx.logger.info({
            versions: report.versions.length, blobs: report.blobs, scratch: report.scratch, images: report.images, build_cache: report.build_cache, ms: report.duration_ms,
          }, 'garbage collection done'),
          (err: unknown) => this.ctx.logger.warn({ err }, 'garbage collection failed'),
        ).finally(() => tick(this.config.intervalMs));
      }, delay);
      this.#timer.unref();
    };
    tick(this.config.firstRunDelayMs);
  }

  /** Stops the schedule and waits for a collection under way, whose Docker part it cuts short. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stopping.abort(new SlipwayError('unavailable', 'the server is stopping'));
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  async #collect(dryRun: boolean): Promise<GcReport> {
    const { db } = this.ctx.store;
    const started = Date.now();
    const cutoff = started - this.config.graceMs;
    const candidates = await findCollectable(db, this.config, { now: new Date(started), failedGraceMs: this.config.graceMs });
    let collected = candidates;
    if (!dryRun) {
      const policy = `keeps the newest ${this.config.keepVersions} versions and those active in the last ${this.config.keepDays} days`;
      const reason = `release deleted by garbage collection (retention ${policy}); redeploy to build it again`;
      const byDeployment = new Map<string, typeof candidates>();
      for (const v of candidates) byDeployment.set(v.deploymentId, [...(byDeployment.get(v.deploymentId) ?? []), v]);
      const marked = new Set<string>();
      for (const list of byDeployment.values()) for (const id of await markReleasesCollected(db, list, reason)) marked.add(id);
      collected = candidates.filter((v) => marked.has(v.id));
    }
    if (!dryRun) {
      for (const id of new Set(collected.map((v) => v.deploymentId))) {
        // The route change is recorded already; this only wakes the feeds, so edges drop the preview hosts.
        this.ctx.notifier.emit('route', id);
        this.ctx.notifier.emit('events', id);
      }
    }
    const marks = await markReferencedBlobs(db, this.ctx.blobs, dryRun ? new Set(candidates.map((v) => v.id)) : undefined);
    const blobs = { count: 0, bytes: 0 };
    const kept = { count: 0, bytes: 0 };
    for await (const blob of this.ctx.blobs.list()) {
      const sweep = !marks.has(blob.sha256) && blob.writtenAtMs < cutoff;
      const deleted = sweep && (dryRun || await this.ctx.blobs.delete(blob.sha256, { writtenBeforeMs: cutoff }));
      const into = deleted ? blobs : kept;
      into.count++;
      into.bytes += blob.size;
    }
    const { workDir, logDir, uploadDir } = this.ctx.config;
    const scratch = await sweepScratch(db, { workDir, logDir, uploadDir }, { graceMs: this.config.graceMs, dryRun, now: Date.now() });
    const docker = await this.#collectDocker(dryRun, cutoff, new Set(candidates.map((v) => v.id)));
    return {
      dry_run: dryRun,
      started_at: new Date(started).toISOString(),
      duration_ms: Date.now() - started,
      versions: collected.map((v) => ({ id: v.id, deployment_id: v.deploymentId, version_number: v.versionNumber })),
      blobs,
      kept_blobs: kept,
      scratch,
      ...docker,
    };
  }

  // The releases are collected already: an engine that does not answer (restarting, say) costs
  // only this part, which the next collection does.
  async #collectDocker(dryRun: boolean, cutoffMs: number, candidates: ReadonlySet<string>): Promise<DockerGcResult & { docker_error?: string }> {
    const api = this.ctx.config.docker;
    if (api === undefined) return noDockerGc();
    try {
      return await collectDockerImages(this.ctx.store.db, api, {
        cutoffMs, dryRun, collecting: dryRun ? candidates : new Set(), buildCacheMaxBytes: this.config.buildCacheMaxBytes, signal: this.#stopping.signal,
      });
    } catch (err) {
      const error = toSlipwayError(err);
      this.ctx.logger.warn({ err: error }, 'garbage collection: the Docker engine part failed');
      return { ...noDockerGc(), docker_error: error.message };
    }
  }
}
