import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { DeploymentParams, ErrorSchema, one } from '../schemas.js';

const HealthSchema = z.object({
  path: z.string(), grace_period_ms: z.number().int(), interval_ms: z.number().int(), timeout_ms: z.number().int(),
  unhealthy_threshold: z.number().int(), healthy_threshold: z.number().int(),
});
const ResourcesSchema = z.object({ memory_mb: z.number().int(), cpu_millis: z.number().int(), disk_mb: z.number().int(), pids_max: z.number().int() });

export const ServiceSchema = z.object({
  id: z.string(),
  deployment_id: z.string(),
  type: z.string(),
  state: z.enum(['running', 'starting', 'degraded']),
  desired_replicas: z.number().int(),
  healthy_instances: z.number().int(),
  health: HealthSchema,
  resources: ResourcesSchema,
  sticky: z.union([z.object({ cookie: z.string() }), z.object({ header: z.string() }), z.literal('none')]).nullable(),
  crash_loop_budget: z.number().int(),
  drain_timeout_ms: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
}).meta({ id: 'Service' });

export const InstanceSchema = z.object({
  id: z.string(),
  deployment_id: z.string(),
  service_id: z.string(),
  version_id: z.string(),
  host_id: z.string(),
  desired: z.enum(['running', 'stopped']),
  state: z.enum(['pending', 'starting', 'healthy', 'unhealthy', 'stopping', 'stopped', 'failed']),
  address: z.string().nullable(),
  reason: z.string(),
  reason_code: z.string().nullable(),
  restart_count: z.number().int(),
  limits_enforced: z.boolean().describe('false when its host cannot hold it to memory_mb, cpu_millis and pids_max'),
  unenforced_limits_reason: z.string().nullable().describe('why the limits are not enforced; null when they are'),
  created_at: z.string(),
  updated_at: z.string(),
}).meta({ id: 'RuntimeInstance' });

const UpdateServiceBody = z.object({
  desired_replicas: z.number().int().min(0).max(100).optional(),
  health: HealthSchema.partial().strict().optional(),
  resources: ResourcesSchema.partial().strict().optional(),
}).strict();

/** Services (replicas, health, resources) and their runtime instances. */
export function runtimeRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema };

  r.get('/api/v1/deployments/:deployment/services', {
    schema: { summary: "A deployment's services", tags: ['runtime'], params: DeploymentParams, response: { 200: one(z.array(ServiceSchema)), ...errors } },
  }, async (req) => ({ data: await services.runtime.listServices(principalOf(req), req.params.deployment) }));

  r.get('/api/v1/deployments/:deployment/instances', {
    schema: { summary: "A deployment's runtime instances, newest first", tags: ['runtime'], params: DeploymentParams, response: { 200: one(z.array(InstanceSchema)), ...errors } },
  }, async (req) => ({ data: await services.runtime.listInstances(principalOf(req), req.params.deployment) }));

  r.patch('/api/v1/services/:service', {
    schema: {
      summary: 'Scale a service or change its health check and resources', tags: ['runtime'],
      params: z.object({ service: z.string().min(1).max(100) }), body: UpdateServiceBody, response: { 200: one(ServiceSchema), ...errors },
    },
  }, async (req) => ({ data: await services.runtime.updateService(principalOf(req), req.params.service, req.body) }));
}
