import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppPlan } from '../../build/app-plan.js';
import { writeFileMap } from '../../build/archive/file-map.js';
import { detectApp } from '../../build/detect-app.js';
import type { SourceView } from '../../build/detect-support.js';
import { createSourceView, freezeUpload } from '../../build/memory-source.js';
import { normalizeOutputPath } from '../../build/snapshot.js';
import type { UploadMemoryPool } from '../upload.js';
import type { Services } from '../../services/services.js';
import { toPublishOptions } from '../publish-options.js';
import { ErrorSchema, PublishQuery, one } from '../schemas.js';
import { receiveSource } from './publish.js';

/** The wire shape of a detection (docs/api.md#detect). */
export const DetectResultSchema = z.object({
  kind: z.enum(['static', 'dynamic']),
  detected: z.string(),
  reasons: z.array(z.string()),
  fetch_tools: z.array(z.string()),
  install: z.array(z.array(z.string())),
  build_command: z.string().nullable(),
  output_path: z.string().nullable().describe('static: the folder published (null: the root, or the first of dist, build, out, public the build makes)'),
  run_command: z.string().nullable().describe("dynamic: what starts the app; '' for an image built from a Dockerfile that runs its own CMD/ENTRYPOINT"),
  port: z.number().int().nullable(),
  package_root: z.string().nullable().describe('dynamic: the only folder of the built tree that is packaged'),
});

/**
 * `POST /api/v1/detect`: how a publish of this body would be built, without storing or building
 * anything. It takes the same body and options as a publish (an archive with options in the
 * query, or a JSON file map), received by the same code (limits, path checks), and answers the
 * plan with its reasons, or the error the publish's build would fail with (`build_required`,
 * `build_toolchain_missing`, `dockerfile_requires_container_driver` on a host without a Docker
 * engine, …). A Dockerfile plan answers `run_command: ''` when the image's own command runs.
 */
export function detectRoutes(app: FastifyInstance, services: Services, uploadMemory: UploadMemoryPool): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const receiving = new Set<Readable>();
  app.addHook('preClose', async () => {
    for (const body of receiving) body.destroy();
  });
  r.post('/api/v1/detect', {
    schema: {
      summary: 'How a source would be built (framework, install, build, output or run, port), with the reasons; nothing is stored', tags: ['publish'],
      querystring: PublishQuery,
      response: { 200: one(DetectResultSchema), 400: ErrorSchema, 401: ErrorSchema, 413: ErrorSchema, 415: ErrorSchema, 422: ErrorSchema },
    },
  }, async (req) => {
    const received = await receiveSource(req, services, { receiving, memory: uploadMemory });
    const work = join(services.ctx.config.uploadDir, `detect-${randomUUID()}`);
    try {
      const options = toPublishOptions(received.options);
      let tree: string | SourceView;
      if (received.source.type === 'tree') {
        tree = received.source.dir;
      } else if (received.source.type === 'memory') {
        // As the build sees it: the snapshot's files, in memory.
        const keep = options.buildCommand === undefined ? options.outputPath : undefined;
        tree = createSourceView(freezeUpload(received.source.entries, keep === undefined ? undefined : normalizeOutputPath(keep)).files);
      } else {
        await mkdir(work, { recursive: true, mode: 0o700 });
        tree = join(work, 'tree');
        await writeFileMap({ files: received.source.files, destDir: tree, limits: services.ctx.config.limits });
      }
      // A publish with output_path and no build command keeps only that folder: it is the site.
      const prebuilt = options.outputPath !== undefined && options.buildCommand === undefined && options.runCommand === undefined;
      const plan = await detectApp(tree, {
        kind: options.kind === 'auto' && options.port !== undefined ? 'dynamic' : options.kind,
        buildCommand: options.buildCommand, runCommand: options.runCommand, port: options.port,
        outputPath: options.outputPath, asIs: options.asIs || prebuilt,
        // As the build would decide: a Dockerfile is an image only where an engine builds it.
        containerImages: services.ctx.config.docker !== undefined,
      });
      return { data: renderPlan(plan, prebuilt && !options.asIs) };
    } finally {
      await rm(work, { recursive: true, force: true });
      await received.cleanup();
    }
  });
}

function renderPlan(plan: AppPlan, prebuilt: boolean): z.infer<typeof DetectResultSchema> {
  const common = { detected: plan.detected, reasons: plan.reasons, fetch_tools: plan.fetchTools ?? [], install: plan.install, build_command: plan.buildCommand ?? null };
  if (plan.kind === 'static') {
    const reasons = prebuilt ? ['output_path without build_command: that folder is published as it is'] : plan.reasons;
    return { kind: 'static', ...common, reasons, output_path: plan.outputPath ?? null, run_command: null, port: null, package_root: null };
  }
  return { kind: 'dynamic', ...common, output_path: null, run_command: plan.runCommand, port: plan.port, package_root: plan.packageRoot ?? null };
}
