import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { untilEdgesServe } from '../edge-wait.js';
import { CreateDeploymentBody, DeploymentParams, DeploymentSchema, ErrorSchema, PageQuery, UpdateDeploymentBody, one, page } from '../schemas.js';

/** Deployments CRUD. */
export function deploymentRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };

  r.post('/api/v1/deployments', {
    schema: { summary: 'Create a deployment', tags: ['deployments'], body: CreateDeploymentBody, response: { 201: one(DeploymentSchema), ...errors } },
  }, async (req, reply) => {
    const b = req.body;
    const data = await services.deployments.create(principalOf(req), {
      slug: b.slug, name: b.name, projectId: b.project_id, spaFallback: b.spa_fallback, externalWorkspaceId: b.external_workspace_id,
    });
    return reply.status(201).send({ data });
  });

  r.get('/api/v1/deployments', {
    schema: {
      summary: 'List deployments, newest first', tags: ['deployments'],
      querystring: PageQuery.extend({ project_id: z.string().optional(), external_workspace_id: z.string().optional() }),
      response: { 200: page(DeploymentSchema), ...errors },
    },
  }, async (req) => {
    const q = req.query;
    return services.deployments.list(principalOf(req), { limit: q.limit, cursor: q.cursor, projectId: q.project_id, externalWorkspaceId: q.external_workspace_id });
  });

  r.get('/api/v1/deployments/:deployment', {
    schema: { summary: 'Get a deployment by id or slug', tags: ['deployments'], params: DeploymentParams, response: { 200: one(DeploymentSchema), ...errors } },
  }, async (req) => ({ data: await services.deployments.get(principalOf(req), req.params.deployment) }));

  r.patch('/api/v1/deployments/:deployment', {
    schema: { summary: 'Change a deployment', tags: ['deployments'], params: DeploymentParams, body: UpdateDeploymentBody, response: { 200: one(DeploymentSchema), ...errors } },
  }, async (req) => ({
    data: await services.deployments.update(principalOf(req), req.params.deployment, { name: req.body.name, spaFallback: req.body.spa_fallback }),
  }));

  r.delete('/api/v1/deployments/:deployment', {
    schema: { summary: 'Delete a deployment (versions and blobs are kept)', tags: ['deployments'], params: DeploymentParams, response: { 200: one(DeploymentSchema), ...errors } },
  }, async (req) => {
    const removed = await services.deployments.remove(principalOf(req), req.params.deployment);
    // Answered once the edges stop serving it, like publish and rollback answer once they serve.
    await untilEdgesServe(services);
    return { data: removed };
  });
}
