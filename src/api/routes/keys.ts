import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { ErrorSchema, PageQuery, one, page } from '../schemas.js';
import { CreateKeyBody, CreatedKeySchema, KeyParams, KeySchema } from './tenant-schemas.js';

/** A tenant's API keys, managed by its admins; a key's token is shown once, when it is made. */
export function keyRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

  r.post('/api/v1/keys', {
    schema: { summary: 'Create an API key (admin); the answer carries its token, shown only this once', tags: ['keys'], body: CreateKeyBody, response: { 201: one(CreatedKeySchema), ...errors } },
  }, async (req, reply) => {
    const b = req.body;
    const data = await services.keys.create(principalOf(req), { name: b.name, role: b.role, projectId: b.project_id, tenantId: b.tenant_id });
    return reply.status(201).send({ data });
  });

  r.get('/api/v1/keys', {
    schema: {
      summary: "The tenant's live API keys, newest first (admin; never a token)", tags: ['keys'],
      querystring: PageQuery.extend({ tenant_id: z.string().optional().describe('operator only: another tenant\'s keys') }),
      response: { 200: page(KeySchema), ...errors },
    },
  }, async (req) => services.keys.list(principalOf(req), { limit: req.query.limit, cursor: req.query.cursor, tenantId: req.query.tenant_id }));

  r.delete('/api/v1/keys/:key', {
    schema: { summary: 'Revoke an API key (admin): refused from the next request on', tags: ['keys'], params: KeyParams, response: { 200: one(KeySchema), ...errors } },
  }, async (req) => ({ data: await services.keys.revoke(principalOf(req), req.params.key) }));
}
