import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { DeploymentParams, ErrorSchema, one } from '../schemas.js';

export const EnvVarSchema = z.object({
  name: z.string(),
  secret: z.boolean(),
  value: z.string().nullable().describe('null for a secret: its value is never shown again'),
  updated_by: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
}).meta({ id: 'EnvVar' });

const EnvValue = z.union([
  z.string().describe('a plain value'),
  z.object({ value: z.string(), secret: z.boolean().optional().describe('write-only and encrypted at rest') }).strict(),
]);

const UpdateEnvBody = z.object({
  set: z.record(z.string(), EnvValue).optional().describe('name → value, or { value, secret }'),
  unset: z.array(z.string()).max(200).optional(),
}).strict();

/** A deployment's environment variables and secrets; changes apply from the next publish. */
export function envRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema };

  r.get('/api/v1/deployments/:deployment/env', {
    schema: { summary: "A deployment's environment variables (secret values are never shown)", tags: ['env'], params: DeploymentParams, response: { 200: one(z.array(EnvVarSchema)), ...errors } },
  }, async (req) => ({ data: await services.env.list(principalOf(req), req.params.deployment) }));

  r.patch('/api/v1/deployments/:deployment/env', {
    schema: {
      summary: 'Set and unset environment variables and secrets, all or nothing; versions published afterwards get them',
      tags: ['env'], params: DeploymentParams, body: UpdateEnvBody, response: { 200: one(z.array(EnvVarSchema)), ...errors },
    },
  }, async (req) => {
    const set = Object.fromEntries(Object.entries(req.body.set ?? {}).map(([name, v]) => [name, typeof v === 'string' ? { value: v } : v]));
    return { data: await services.env.update(principalOf(req), req.params.deployment, { set, unset: req.body.unset }) };
  });
}
