import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { and, asc, eq, inArray } from 'drizzle-orm';
import { toSlipwayError } from '../core/errors.js';
import { createCachingCompressor } from '../build/precompress.js';
import { buildRelease, type LentSnapshot } from '../build/build-release.js';
import type { BlobStore } from '../blobs/blob-store.js';
import { IN_MEMORY_SOURCE_BYTES } from '../core/limits.js';
import { deployments, operations, rings, tenants, versions } from '../store/schema.js';
import { imageTag } from '../runtime/docker/engine-images.js';
import { runCommand } from '../util/child-process.js';
import type { ServiceContext } from './context.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import type { RolloutService } from './rollout-service.js';
import type { EnvService } from './env-service.js';
import { fileReleaseTarget } from './static-release-store.js';
import { createLineRedactor, redactSecrets } from '../core/redact.js';

type VersionRow = typeof versions.$inferSelect;

/** A build interrupted this many times (server crashes) is failed instead of retried again. */
const MAX_ATTEMPTS = 3;

/**
 * Runs queued versions. Per deployment, versions build strictly in version-number order under
 * the store's per-deployment lock (an advisory lock on PostgreSQL), so two publishes both finish,
 * in order; different deployments build in parallel up to `buildConcurrency`. A version found
 * `building` while we hold the lock was interrupted by a crash and is built again.
 */
export class BuildWorker {
  private readonly draining = new Map<string, boolean>();
  private readonly freeSlots: number[];
  private readonly slotWaiters: Array<(slot: number) => void> = [];
  private stopped = false;
  private readonly off: () => void;
  private readonly idle = new Set<Promise<void>>();
  /** Aborted on stop: running build commands are killed, their versions re-run on restart. */
  private readonly abort = new AbortController();
  /** Compressed variants by content hash, shared by all builds of this server. */
  private readonly compressor = createCachingCompressor();

  constructor(private readonly ctx: ServiceContext, private readonly rollout: RolloutService, private readonly env: EnvService) {
    this.freeSlots = Array.from({ length: ctx.config.buildConcurrency }, (_, i) => i);
    this.off = ctx.notifier.on('work', (id) => this.kick(id));
  }

  /** Picks up work left by a previous run of the server (queued or interrupted versions). */
  async resume(): Promise<void> {
    const rows = await this.ctx.store.db
      .selectDistinct({ deploymentId: versions.deploymentId })
      .from(versions)
      .where(inArray(versions.state, ['queued', 'building']));
    for (const r of rows) this.kick(r.deploymentId);
  }

  /** Makes sure a drain runs for the deployment; a running drain re-checks before it ends. */
  kick(deploymentId: string): void {
    if (this.stopped) return;
    if (this.draining.has(deploymentId)) {
      this.draining.set(deploymentId, true);
      return;
    }
    this.draining.set(deploymentId, false);
    const p = this.drain(deploymentId)
      .catch((err) => this.ctx.logger.error({ err, deploymentId }, 'build drain failed'))
      .finally(() => {
        this.idle.delete(p);
        const again = this.draining.get(deploymentId);
        this.draining.delete(deploymentId);
        if (again) this.kick(deploymentId);
      });
    this.idle.add(p);
  }

  /** Stops taking new work and waits for running builds to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.off();
    this.abort.abort();
    await Promise.allSettled([...this.idle]);
  }

  private async drain(deploymentId: string): Promise<void> {
    const slot = await this.acquireSlot();
    try {
      await this.ctx.store.withLock(`deployment:${deploymentId}`, async () => {
        for (;;) {
          if (this.stopped) return;
          const [next] = await this.ctx.store.db.select().from(versions)
            .where(and(eq(versions.deploymentId, deploymentId), inArray(versions.state, ['queued', 'building'])))
            .orderBy(asc(versions.versionNumber)).limit(1);
          if (!next) return;
          await this.build(next, slot);
        }
      });
    } finally {
      this.releaseSlot(slot);
    }
  }

  private async build(version: VersionRow, slot: number): Promise<void> {
    const base = this.ctx.config.buildUidBase;
    const user = base === undefined ? undefined : { uid: base + slot, gid: base + slot };
    const { db } = this.ctx.store;
    const attempts = version.attempts + 1;
    if (attempts > MAX_ATTEMPTS) {
      await this.finish(version, { code: 'interrupted', message: `the build was interrupted ${version.attempts} times (server restarts); giving up` });
      return;
    }
    // A suspended tenant's queued builds fail rather than wait: nothing of it may start while it
    // is suspended, and a resume should not replay publishes made before the suspension.
    const [tenant] = await db.select({ state: tenants.state }).from(tenants).where(eq(tenants.id, version.tenantId)).limit(1);
    if (tenant?.state === 'suspended') {
      await this.finish(version, { code: 'tenant_suspended', message: 'the tenant was suspended before this version was built; publish again once it is resumed' });
      return;
    }
    await db.transaction(async (tx) => {
      await tx.update(versions).set({ state: 'building', attempts, startedAt: new Date() }).where(eq(versions.id, version.id));
      await recordEvent(tx, {
        tenantId: version.tenantId, deploymentId: version.deploymentId, versionId: version.id, type: 'version.building', actor: 'system',
        reason: attempts > 1 ? `build restarted after an interruption (attempt ${attempts})` : `building version ${version.versionNumber}`,
      });
    });
    this.ctx.notifier.emit('events', version.deploymentId);

    const dir = join(this.ctx.config.workDir, version.id);
    await mkdir(this.ctx.config.logDir, { recursive: true });
    const logPath = join(this.ctx.config.logDir, `${version.id}.log`);
    // A dynamic version interrupted after its build keeps its log and release: only the rollout runs again.
    const resumeRollout = version.kind === 'dynamic' && version.artifactSha256 !== null && version.releaseManifest !== null;
    const log = createWriteStream(logPath, { flags: resumeRollout ? 'a' : 'w' });
    let secrets: string[] = [];
    // Whatever the build prints passes through the mask before it reaches the log file.
    let masked = createLineRedactor([], (text) => log.write(text));
    const onLog = (chunk: string) => masked.write(chunk);
    let netSlot: number | undefined;
    try {
      const opened = this.env.open(version.deploymentId, version.env);
      secrets = opened.secrets;
      masked = createLineRedactor(secrets, (text) => log.write(text));
      // PATH and HOME are the build's own; the deployment's PATH is for its instances.
      const { PATH: _path, HOME: _home, ...buildEnv } = opened.values;
      let built: { kind: 'static' | 'dynamic'; artifactSha256: string; note: Record<string, unknown> };
      if (resumeRollout) {
        onLog(`[slipway] resuming the rollout after an interruption\n`);
        built = { kind: 'dynamic', artifactSha256: version.artifactSha256!, note: {} };
      } else {
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        const sandbox = user ? this.ctx.config.buildSandbox : undefined;
        const network = sandbox?.net ? this.ctx.config.buildNetwork : undefined;
        if (network) netSlot = slot;
        const netns = network ? await network.create(slot) : undefined;
        const snapshotPath = join(dir, 'source.tar');
        const release = await buildRelease({
          snapshotPath, snapshot: await fetchSnapshot(this.ctx.blobs, version.sourceSha256, { path: snapshotPath }), fileRelease: await fileReleaseTarget(this.ctx, version.deploymentId),
          workDir: dir, kind: version.requestedKind as 'auto' | 'static' | 'dynamic',
          buildCommand: version.buildCommand ?? undefined, outputPath: version.outputPath ?? undefined,
          runCommand: version.runCommand ?? undefined, port: version.port ?? undefined, asIs: version.asIs, env: buildEnv,
          staticInclude: version.staticInclude ?? undefined,
          timeoutMs: this.ctx.config.buildTimeoutMs, onLog, user, signal: this.abort.signal, compressor: this.compressor,
          sandbox, netns,
          // A Dockerfile is built into an image on this engine when the host has one.
          docker: this.ctx.config.docker, imageTag: imageTag(version.deploymentId, version.versionNumber),
        });
        // A format-2 static release is stored already, file by file; the others are one file.
        const artifact = 'stored' in release ? { sha256: release.sha256, size: release.size } : await this.ctx.blobs.putFile(release.releasePath);
        onLog(`release ${artifact.sha256} (${artifact.size} bytes)\n`);
        built = { kind: release.kind, artifactSha256: artifact.sha256, note: release.kind === 'static' ? { files: release.manifest.files.length } : { detected: release.manifest.detected } };
        if (release.kind === 'dynamic') {
          await db.update(versions).set({ kind: 'dynamic', artifactSha256: artifact.sha256, releaseManifest: release.manifest }).where(eq(versions.id, version.id));
        }
      }
      if (built.kind === 'dynamic') {
        await this.rollout.boot(version, { runtime: version.runtimeOptions, onLog: (line) => onLog(`${line}\n`), signal: this.abort.signal, actor: 'system' });
      }
      masked.end();
      const logSha = await this.storeLog(log, logPath);
      await this.finish(version, null, { artifactSha256: built.artifactSha256, buildLogSha256: logSha, kind: built.kind, data: built.note });
      // Whatever ran before (the previous dynamic version) drains once the edges serve this one.
      await this.rollout.retireOthers(version.deploymentId, version.id);
    } catch (err) {
      const e = toSlipwayError(err);
      masked.end();
      // Stopped by shutdown: leave the version `building` so the next start builds it again.
      if (this.abort.signal.aborted) {
        log.end();
        return;
      }
      if (e.code === 'internal_error') this.ctx.logger.error({ err, versionId: version.id }, 'build crashed');
      // A failure's message can quote the build's output, so it is masked like the log.
      const message = redactSecrets(e.message, secrets);
      log.write(`\nerror: ${message}\n`);
      const logSha = await this.storeLog(log, logPath).catch(() => null);
      await this.finish(version, { code: e.code, message }, { buildLogSha256: logSha });
    } finally {
      // Only a build command can leave processes behind.
      if (user && (version.buildCommand || version.kind === 'dynamic')) await killAllOf(user);
      if (netSlot !== undefined) {
        await this.ctx.config.buildNetwork?.remove(netSlot).catch((err) => this.ctx.logger.warn({ err, versionId: version.id }, 'could not remove the build network namespace'));
      }
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async storeLog(log: WriteStream, logPath: string): Promise<string> {
    await new Promise<void>((resolve, reject) => log.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const blob = await this.ctx.blobs.putFile(logPath);
    await rm(logPath, { force: true });
    return blob.sha256;
  }

  /** Marks the version ready and promotes it, or failed, with its event, in one transaction. */
  private async finish(
    version: VersionRow,
    error: { code: string; message: string } | null,
    result: { artifactSha256?: string; buildLogSha256?: string | null; kind?: 'static' | 'dynamic'; data?: Record<string, unknown> } = {},
  ): Promise<void> {
    const now = new Date();
    const base = { tenantId: version.tenantId, deploymentId: version.deploymentId, versionId: version.id, actor: 'system' };
    await this.ctx.store.db.transaction(async (tx) => {
      await tx.update(versions).set({
        state: error ? 'failed' : 'ready', buildLogSha256: result.buildLogSha256 ?? null,
        ...(result.artifactSha256 ? { artifactSha256: result.artifactSha256 } : {}), ...(result.kind ? { kind: result.kind } : {}),
        errorCode: error?.code ?? null, errorMessage: error?.message ?? null, finishedAt: now,
      }).where(eq(versions.id, version.id));
      await tx.update(operations).set({
        state: error ? 'failed' : 'succeeded', errorCode: error?.code ?? null, errorMessage: error?.message ?? null, finishedAt: now,
      }).where(and(eq(operations.versionId, version.id), eq(operations.state, 'running')));
      if (error) {
        await recordEvent(tx, { ...base, type: 'version.failed', reason: error.message, data: { code: error.code } });
        return;
      }
      await recordEvent(tx, { ...base, type: 'version.ready', reason: `version ${version.versionNumber} built`, data: { artifact_sha256: result.artifactSha256, kind: result.kind, ...result.data } });
      await tx.update(rings).set({ activeVersionId: version.id, updatedAt: now })
        .where(and(eq(rings.deploymentId, version.deploymentId), eq(rings.name, 'production')));
      // A deployment's `updated_at` says when what it serves last changed.
      await tx.update(deployments).set({ updatedAt: now }).where(eq(deployments.id, version.deploymentId));
      await recordEvent(tx, { ...base, type: 'deployment.promoted', reason: `version ${version.versionNumber} is now active`, data: { version_number: version.versionNumber } });
      // Last, so the revision counter's row lock is held only to the commit (route-log.ts).
      await recordRouteChange(tx, version.deploymentId);
    });
    // A failed build changes no route (only ready versions are served).
    if (!error) this.ctx.notifier.emit('route', version.deploymentId);
    this.ctx.notifier.emit('events', version.deploymentId);
    const ops = await this.ctx.store.db.select({ id: operations.id }).from(operations).where(eq(operations.versionId, version.id));
    for (const op of ops) this.ctx.notifier.emit('operation', op.id);
  }

  private async acquireSlot(): Promise<number> {
    const free = this.freeSlots.shift();
    if (free !== undefined) return free;
    return new Promise<number>((resolve) => this.slotWaiters.push(resolve));
  }

  private releaseSlot(slot: number): void {
    const next = this.slotWaiters.shift();
    if (next) next(slot);
    else this.freeSlots.push(slot);
  }
}

/**
 * Fetches a build's snapshot: into memory when it is at most `maxInMemoryBytes` (default
 * {@link IN_MEMORY_SOURCE_BYTES}; then a plain site is packaged with no tree on disk), else
 * streamed to `path` as the build's snapshot file.
 * The bytes are lent to `buildRelease`, which drops them once it has written the tree a build
 * needs, so a long build command does not hold them; the caller keeps only the holder.
 */
export async function fetchSnapshot(
  blobs: BlobStore, sha256: string, o: { path: string; maxInMemoryBytes?: number },
): Promise<LentSnapshot | undefined> {
  const info = await blobs.stat(sha256);
  if (info !== null && info.size <= (o.maxInMemoryBytes ?? IN_MEMORY_SOURCE_BYTES)) return { bytes: await blobs.read(sha256) };
  await blobs.readToFile(sha256, o.path);
  return undefined;
}

/**
 * Kills every process of a build user: `kill -KILL -1` run as that user reaches exactly its
 * own processes, including any that left the build's process group with setsid.
 */
async function killAllOf(user: { uid: number; gid: number }): Promise<void> {
  await runCommand(['/bin/kill', '-KILL', '-1'], { user, timeoutMs: 5000 }).catch(() => undefined);
}
