import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { untilEdgesServe } from '../edge-wait.js';
import { DeploymentParams, ErrorSchema, OperationSchema, PageQuery, VersionParams, VersionSchema, one, page } from '../schemas.js';

/** Versions, build logs and operations. */
export function versionRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema };

  r.get('/api/v1/deployments/:deployment/versions', {
    schema: { summary: 'List versions, newest first', tags: ['versions'], params: DeploymentParams, querystring: PageQuery, response: { 200: page(VersionSchema), ...errors } },
  }, async (req) => services.versions.list(principalOf(req), req.params.deployment, req.query));

  r.get('/api/v1/deployments/:deployment/versions/:version', {
    schema: { summary: 'Get a version by id or number', tags: ['versions'], params: VersionParams, response: { 200: one(VersionSchema), ...errors } },
  }, async (req) => ({ data: await services.versions.get(principalOf(req), req.params.deployment, req.params.version) }));

  r.get('/api/v1/deployments/:deployment/versions/:version/build-log', {
    schema: { summary: 'The build log (text); partial while the build runs', tags: ['versions'], params: VersionParams, response: { 200: z.string(), ...errors } },
  }, async (req, reply) => {
    const text = await services.versions.buildLog(principalOf(req), req.params.deployment, req.params.version);
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  r.get('/api/v1/operations/:id', {
    schema: {
      summary: 'Poll an operation; ?wait_seconds=N holds the answer until it ends (and the edges serve it) or N seconds pass',
      tags: ['operations'], params: z.object({ id: z.string() }),
      querystring: z.object({ wait_seconds: z.coerce.number().int().min(0).max(60).default(0) }),
      response: { 200: one(OperationSchema), ...errors },
    },
  }, async (req) => {
    const principal = principalOf(req);
    if (req.query.wait_seconds === 0) return { data: await services.operations.get(principal, req.params.id) };
    const op = await services.operations.waitUntilDone(principal, req.params.id, req.query.wait_seconds * 1000);
    if (op.state === 'succeeded') await untilEdgesServe(services);
    return { data: op };
  });
}
