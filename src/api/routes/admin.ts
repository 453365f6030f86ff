import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SlipwayError } from '../../core/errors.js';
import { requireRole } from '../../services/api-keys.js';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { ErrorSchema, one } from '../schemas.js';

const Bytes = z.object({ count: z.number().int(), bytes: z.number().int() });

/** The answer of `POST /api/v1/admin/gc` (`GcReport` in src/services/gc-service.ts). */
export const GcReportSchema = z.object({
  dry_run: z.boolean(),
  started_at: z.string(),
  duration_ms: z.number().int(),
  versions: z.array(z.object({ id: z.string(), deployment_id: z.string(), version_number: z.number().int() }))
    .describe('versions whose releases were (or would be) deleted; their records stay'),
  blobs: Bytes.describe('blobs nothing names any more, older than the grace time: deleted (or would be)'),
  kept_blobs: Bytes.describe('blobs kept'),
  scratch: z.object({ entries: z.number().int(), bytes: z.number().int() }).describe('build trees, build logs and uploads left by crashes'),
  images: Bytes.describe('images removed from the Docker engine (or that would be): their release was collected, or no version names them; zero without one'),
  kept_images: Bytes.describe('images the Docker engine keeps'),
  build_cache: z.object({ bytes: z.number().int(), kept_bytes: z.number().int() })
    .describe('BuildKit build cache pruned (or that would be) down to SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES, and what stays'),
  docker_error: z.string().optional().describe('why the Docker engine part was skipped (it did not answer), when it was'),
}).meta({ id: 'GcReport' });

const GcBody = z.object({ dry_run: z.boolean().default(false) });

/** Operator endpoints: the platform operator's key only. */
export function adminRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post('/api/v1/admin/gc', {
    schema: {
      summary: 'Collect garbage now: releases retention lets go, unreferenced blobs, crash scratch (`dry_run`: only say what would go)',
      tags: ['admin'], body: GcBody.optional(),
      response: { 200: one(GcReportSchema), 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
    },
  }, async (req) => {
    const principal = principalOf(req);
    // A collection spans every tenant's deployments (retention runs over the whole store): only
    // the platform's operator may start it, never a tenant's admin.
    requireRole(principal, ['operator']);
    if (principal.projectId !== null) throw new SlipwayError('forbidden', 'garbage collection needs the operator key, not one limited to a project');
    return { data: await services.gc.run({ dryRun: req.body?.dry_run === true }) };
  });
}
