import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LogScope } from '../../services/log-service.js';
import type { Services } from '../../services/services.js';
import { principalOf, streamAuthCheck } from '../auth.js';
import { DeploymentParams, ErrorSchema, WorkspaceQuery, flag, one } from '../schemas.js';
import { openSse } from '../sse.js';

export const LogLineSchema = z.object({
  id: z.string(),
  time: z.string(),
  deployment_id: z.string(),
  service_id: z.string(),
  version_id: z.string(),
  runtime_instance_id: z.string(),
  host_id: z.string(),
  line: z.string(),
}).meta({ id: 'LogLine' });

const LogsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  follow: z.enum(['true', 'false', '1', '0']).optional(),
  ...WorkspaceQuery,
});

/**
 * Instance output (stdout and stderr, one line each) of a deployment, a service or one
 * instance: the newest `limit` lines, oldest first; `?follow=true` streams them as SSE
 * (`event: log`) and then every new line.
 */
export function logRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const response = { 200: one(z.array(LogLineSchema)), 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema };

  const serve = async (req: FastifyRequest, reply: FastifyReply, scope: LogScope) => {
    const query = req.query as z.infer<typeof LogsQuery>;
    const logs = services.logs;
    const principal = await services.tenants.scope(principalOf(req), query.external_workspace_id);
    const { where, deploymentId } = await logs.resolve(principal, scope);
    const first = await logs.read(where, { limit: query.limit });
    if (!flag(query.follow)) return { data: first };
    const sse = openSse(req, reply);
    let last = 0;
    for (const line of first) {
      sse.send('log', line, line.id);
      last = Number(line.id);
    }
    let open = true;
    void sse.closed.then(() => (open = false));
    const stillAuthorized = streamAuthCheck(services.apiKeys, principal);
    while (open) {
      await Promise.race([logs.waitForNew(deploymentId, 1000), sse.closed]);
      if (!open || !(await stillAuthorized())) break;
      for (const line of await logs.read(where, { limit: 1000, afterId: last })) {
        sse.send('log', line, line.id);
        last = Number(line.id);
      }
    }
    sse.end();
    return reply;
  };

  r.get('/api/v1/deployments/:deployment/logs', {
    schema: { summary: "A deployment's instance logs; ?follow=true streams them (SSE)", tags: ['logs'], params: DeploymentParams, querystring: LogsQuery, response },
  }, (req, reply) => serve(req, reply, { deployment: req.params.deployment }));

  r.get('/api/v1/services/:service/logs', {
    schema: { summary: "A service's instance logs", tags: ['logs'], params: z.object({ service: z.string().min(1).max(100) }), querystring: LogsQuery, response },
  }, (req, reply) => serve(req, reply, { serviceId: req.params.service }));

  r.get('/api/v1/runtime-instances/:instance/logs', {
    schema: { summary: "One instance's logs", tags: ['logs'], params: z.object({ instance: z.string().min(1).max(100) }), querystring: LogsQuery, response },
  }, (req, reply) => serve(req, reply, { instanceId: req.params.instance }));
}
