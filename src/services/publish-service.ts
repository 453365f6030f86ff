import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { extractUpload } from '../build/archive/extract-upload.js';
import { writeFileMap, type FileMapValue } from '../build/archive/file-map.js';
import { createSnapshot } from '../build/snapshot.js';
import { deployments, operations, versions } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import type { DeploymentRow } from './deployment-queries.js';
import { recordEvent } from './event-log.js';
import type { RuntimeOptions } from '../core/runtime-options.js';

/** Where the source of a publish comes from; already received by the API layer. */
export type PublishSource =
  | { type: 'archive'; path: string; format: 'tar' | 'tgz' }
  | { type: 'files'; files: Record<string, FileMapValue> };

/** Build and runtime settings of a publish. */
export interface PublishOptions {
  /** `auto` decides from the source; `run_command` or `port` make it dynamic. */
  kind: 'auto' | 'static' | 'dynamic';
  buildCommand?: string;
  outputPath?: string;
  runCommand?: string;
  port?: number;
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
  constructor(private readonly ctx: ServiceContext) {}

  async accept(input: AcceptPublishInput): Promise<AcceptedPublish> {
    const options = normalizeOptions(input.options);
    const sourceSha256 = await this.snapshot(input.source, options);
    const versionId = newId('ver');
    const operationId = newId('op');
    const { deployment, principal } = input;
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
        kind: options.kind === 'dynamic' || options.runCommand !== undefined ? 'dynamic' : 'static',
        requestedKind: options.kind, runCommand: options.runCommand ?? null, port: options.port ?? null, runtimeOptions: options.runtime ?? {},
        state: 'queued', sourceSha256, buildCommand: options.buildCommand ?? null, outputPath: options.outputPath ?? null,
        attempts: 0, createdBy: principal.keyId, idempotencyKey: input.idempotencyKey ?? null, createdAt: now,
      });
      await tx.insert(operations).values({
        id: operationId, tenantId: deployment.tenantId, kind: 'publish', state: 'running',
        deploymentId: deployment.id, versionId, createdAt: now,
      });
      await recordEvent(tx, {
        tenantId: deployment.tenantId, deploymentId: deployment.id, versionId, type: 'version.queued',
        actor: principal.keyId, reason: `version ${versionNumber} queued`, data: { version_number: versionNumber, source_sha256: sourceSha256 },
      });
    });
    this.ctx.notifier.emit('events', deployment.id);
    this.ctx.notifier.emit('work', deployment.id);
    return { versionId, operationId };
  }

  /** Unpacks into scratch space (refusing unsafe input whole) and stores the snapshot blob. */
  private async snapshot(source: PublishSource, options: PublishOptions): Promise<string> {
    await mkdir(this.ctx.config.uploadDir, { recursive: true, mode: 0o700 });
    const work = join(this.ctx.config.uploadDir, `snapshot-${newId('op').slice(3)}`);
    try {
      const tree = join(work, 'tree');
      if (source.type === 'archive') {
        await extractUpload({ archivePath: source.path, format: source.format, destDir: tree, limits: this.ctx.config.limits });
      } else {
        await writeFileMap({ files: source.files, destDir: tree, limits: this.ctx.config.limits });
      }
      // A prebuilt output folder (output_path without build_command) is the site: keep it.
      const keepPath = options.buildCommand ? undefined : options.outputPath;
      const snap = await createSnapshot({ sourceDir: tree, outPath: join(work, 'snapshot.tar'), keepPath });
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
