import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { readFileMap, type FileMapValue } from '../build/archive/file-map.js';
import { encodeSnapshot, freezeUpload, type MemoryUploadEntry } from '../build/memory-source.js';
import { createSnapshot, normalizeOutputPath } from '../build/snapshot.js';
import { deployments, operations, versions } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import type { DeploymentRow } from './deployment-queries.js';
import type { EnvService } from './env-service.js';
import { recordEvent } from './event-log.js';
import type { RuntimeOptions } from '../core/runtime-options.js';

/**
 * Where the source of a publish comes from; already received by the API layer. An archive is
 * checked while its body is read, so it arrives as `memory` (the approved entries, when their
 * files fit the upload's memory budget) or as a `tree`: a private folder holding exactly the
 * approved files, which the caller removes afterwards.
 */
export type PublishSource =
  | { type: 'memory'; entries: MemoryUploadEntry[] }
  | { type: 'tree'; dir: string }
  | { type: 'files'; files: Record<string, FileMapValue> };

/** Build and runtime settings of a publish. */
export interface PublishOptions {
  /** `auto` decides from the source; `run_command` or `port` make it dynamic. */
  kind: 'auto' | 'static' | 'dynamic';
  buildCommand?: string;
  outputPath?: string;
  runCommand?: string;
  port?: number;
  /** Publish the files exactly as they are: no detection, no build (a static site). */
  asIs?: boolean;
  /** Globs of files a static release keeps although its rules leave them out (`*.map`). */
  staticInclude?: string[];
  /** Applied to the deployment's web service when a dynamic version rolls out. */
  runtime?: RuntimeOptions;
}

/** Input of {@link PublishService.accept}. */
export interface AcceptPublishInput {
  principal: Principal;
  deployment: DeploymentRow;
  source: PublishSource;
  options: PublishOptions;
  idempotencyKey?: string;
}

/** Everything a queued version is made of. */
interface QueuedVersion {
  deployment: DeploymentRow;
  principal: Principal;
  idempotencyKey?: string;
  sourceSha256: string;
  requestedKind: PublishOptions['kind'];
  buildCommand: string | null;
  outputPath: string | null;
  runCommand: string | null;
  port: number | null;
  asIs: boolean;
  staticInclude: string[] | null;
  runtimeOptions: RuntimeOptions;
  /** The version number whose source this one publishes again. */
  redeployOf?: number;
}

type VersionRow = typeof versions.$inferSelect;

/** The version and operation a publish created. */
export interface AcceptedPublish {
  versionId: string;
  operationId: string;
}

/**
 * The first half of a publish, done while the client waits: validate and unpack the source,
 * freeze it as a content-addressed snapshot, then create the queued version and its operation
 * in one transaction. Nothing is written to the store unless the source is valid; the build
 * itself runs later in the {@link BuildWorker}.
 */
export class PublishService {
  constructor(private readonly ctx: ServiceContext, private readonly env: EnvService) {}

  async accept(input: AcceptPublishInput): Promise<AcceptedPublish> {
    const options = normalizeOptions(input.options);
    const sourceSha256 = await this.snapshot(input.source, options);
    return this.queue({
      deployment: input.deployment, principal: input.principal, idempotencyKey: input.idempotencyKey, sourceSha256,
      requestedKind: options.kind, buildCommand: options.buildCommand ?? null, outputPath: options.outputPath ?? null,
      runCommand: options.runCommand ?? null, port: options.port ?? null, asIs: options.asIs ?? false, runtimeOptions: options.runtime ?? {},
      staticInclude: options.staticInclude?.length ? options.staticInclude : null,
    });
  }

  /**
   * Publishes an existing version's source again, with the same build and runtime settings and
   * the deployment's environment as it is now: how an environment change reaches a running app.
   * The snapshot is reused, so nothing is uploaded; the build runs again, since build-time
   * variables may have changed.
   */
  async redeploy(input: { principal: Principal; deployment: DeploymentRow; from: VersionRow; idempotencyKey?: string }): Promise<AcceptedPublish> {
    const v = input.from;
    return this.queue({
      deployment: input.deployment, principal: input.principal, idempotencyKey: input.idempotencyKey, sourceSha256: v.sourceSha256,
      requestedKind: v.requestedKind as PublishOptions['kind'], buildCommand: v.buildCommand, outputPath: v.outputPath,
      runCommand: v.runCommand, port: v.port, asIs: v.asIs, runtimeOptions: v.runtimeOptions, redeployOf: v.versionNumber,
      staticInclude: v.staticInclude,
    });
  }

  /** Creates the queued version and its operation in one transaction and wakes the worker. */
  private async queue(q: QueuedVersion): Promise<AcceptedPublish> {
    const versionId = newId('ver');
    const operationId = newId('op');
    const { deployment, principal } = q;
    await this.ctx.store.db.transaction(async (tx) => {
      // The row lock on the deployment makes concurrent publishes take distinct numbers.
      const [row] = await tx
        .update(deployments)
        .set({ nextVersionNumber: sql`${deployments.nextVersionNumber} + 1` })
        .where(eq(deployments.id, deployment.id))
        .returning({ next: deployments.nextVersionNumber });
      const versionNumber = row!.next - 1;
      const now = new Date();
      await tx.insert(versions).values({
        id: versionId, tenantId: deployment.tenantId, deploymentId: deployment.id, versionNumber,
        // What the build finds replaces this guess; `auto` with a run command is dynamic.
        kind: q.requestedKind === 'dynamic' || q.runCommand !== null ? 'dynamic' : 'static',
        requestedKind: q.requestedKind, runCommand: q.runCommand, port: q.port, asIs: q.asIs, runtimeOptions: q.runtimeOptions,
        staticInclude: q.staticInclude,
        // The environment as it is now stays with this version for good (rollbacks included).
        env: await this.env.freeze(tx, deployment.id),
        state: 'queued', sourceSha256: q.sourceSha256, buildCommand: q.buildCommand, outputPath: q.outputPath,
        attempts: 0, createdBy: principal.keyId, idempotencyKey: q.idempotencyKey ?? null, createdAt: now,
      });
      await tx.insert(operations).values({
        id: operationId, tenantId: deployment.tenantId, kind: 'publish', state: 'running',
        deploymentId: deployment.id, versionId, createdAt: now,
      });
      await recordEvent(tx, {
        tenantId: deployment.tenantId, deploymentId: deployment.id, versionId, type: 'version.queued', actor: principal.keyId,
        reason: q.redeployOf === undefined ? `version ${versionNumber} queued` : `version ${versionNumber} queued: version ${q.redeployOf} again, with the current environment`,
        data: { version_number: versionNumber, source_sha256: q.sourceSha256, ...(q.redeployOf === undefined ? {} : { redeploy_of: q.redeployOf }) },
      });
    });
    this.ctx.notifier.emit('events', deployment.id);
    this.ctx.notifier.emit('work', deployment.id);
    return { versionId, operationId };
  }

  /**
   * Freezes the source as its snapshot blob: an upload held in memory, or a file map (checked
   * whole, unsafe input refused), is frozen there (the same tar, byte for byte, as its tree on
   * disk would give); an upload that went to disk is frozen from its tree.
   */
  private async snapshot(source: PublishSource, options: PublishOptions): Promise<string> {
    // A prebuilt output folder (output_path without build_command) is the site: keep it.
    const keepPath = options.buildCommand ? undefined : options.outputPath;
    if (source.type !== 'tree') {
      const entries = source.type === 'memory' ? source.entries : readFileMap({ files: source.files, limits: this.ctx.config.limits });
      const { files } = freezeUpload(entries, keepPath === undefined ? undefined : normalizeOutputPath(keepPath));
      if (files.length === 0) throw new SlipwayError('empty_source', 'the source has no files left after exclusions');
      return (await this.ctx.blobs.put(encodeSnapshot(files))).sha256;
    }
    await mkdir(this.ctx.config.uploadDir, { recursive: true, mode: 0o700 });
    const work = join(this.ctx.config.uploadDir, `snapshot-${newId('op').slice(3)}`);
    try {
      await mkdir(work, { mode: 0o700 });
      const snap = await createSnapshot({ sourceDir: source.dir, outPath: join(work, 'snapshot.tar'), keepPath });
      if (snap.fileCount === 0) throw new SlipwayError('empty_source', 'the source has no files left after exclusions');
      const blob = await this.ctx.blobs.putFile(join(work, 'snapshot.tar'));
      return blob.sha256;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

function normalizeOptions(o: PublishOptions): PublishOptions {
  const buildCommand = o.buildCommand?.trim() || undefined;
  let outputPath = o.outputPath?.trim() || undefined;
  if (outputPath) {
    outputPath = outputPath.replace(/^\.\/+/, '').replace(/\/+$/, '') || '.';
    if (outputPath.startsWith('/') || outputPath.split('/').includes('..')) {
      throw new SlipwayError('invalid_request', 'output_path must be a relative path inside the source', { details: { field: 'output_path' } });
    }
  }
  const runCommand = o.runCommand?.trim() || undefined;
  return { ...o, buildCommand, runCommand, outputPath: outputPath === '.' ? undefined : outputPath };
}
