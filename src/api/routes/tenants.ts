import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { ErrorSchema, PageQuery, one, page } from '../schemas.js';
import { CreateTenantBody, ProjectSchema, TenantParams, TenantSchema, UpdateTenantBody } from './tenant-schemas.js';

/**
 * Tenants (docs/tenants.md): the operator key manages them under `/api/v1/tenants`; a tenant's
 * admin reads and brands its own at `/api/v1/tenant`.
 */
export function tenantRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
  const { tenants, tenantLifecycle } = services;

  r.post('/api/v1/tenants', {
    schema: { summary: 'Create a tenant (operator)', tags: ['tenants'], body: CreateTenantBody, response: { 201: one(TenantSchema), ...errors } },
  }, async (req, reply) => {
    const data = await tenants.create(principalOf(req), { slug: req.body.slug, displayName: req.body.display_name });
    return reply.status(201).send({ data });
  });

  r.get('/api/v1/tenants', {
    schema: { summary: 'List tenants, newest first (operator)', tags: ['tenants'], querystring: PageQuery, response: { 200: page(TenantSchema), ...errors } },
  }, async (req) => tenants.list(principalOf(req), req.query));

  r.get('/api/v1/tenants/:tenant', {
    schema: { summary: 'Get a tenant (operator)', tags: ['tenants'], params: TenantParams, response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => ({ data: await tenants.get(principalOf(req), req.params.tenant) }));

  r.patch('/api/v1/tenants/:tenant', {
    schema: { summary: "Change a tenant's display name or branding (operator)", tags: ['tenants'], params: TenantParams, body: UpdateTenantBody, response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => ({
    data: await tenants.update(principalOf(req), req.params.tenant, { displayName: req.body.display_name, branding: req.body.branding }),
  }));

  r.post('/api/v1/tenants/:tenant/suspend', {
    schema: { summary: "Suspend a tenant: its instances stop, its hosts answer its suspension page, nothing is deleted (operator)", tags: ['tenants'], params: TenantParams, response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => ({ data: await tenantLifecycle.suspend(principalOf(req), req.params.tenant) }));

  r.post('/api/v1/tenants/:tenant/resume', {
    schema: { summary: 'Resume a suspended tenant: its apps start again (operator)', tags: ['tenants'], params: TenantParams, response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => ({ data: await tenantLifecycle.resume(principalOf(req), req.params.tenant) }));

  r.delete('/api/v1/tenants/:tenant', {
    schema: { summary: 'Delete a tenant: its deployments are deleted, its hosts freed, its keys revoked (operator)', tags: ['tenants'], params: TenantParams, response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => ({ data: await tenantLifecycle.remove(principalOf(req), req.params.tenant) }));

  r.get('/api/v1/tenant', {
    schema: { summary: "The caller's own tenant", tags: ['tenants'], response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => {
    const principal = principalOf(req);
    return { data: await tenants.get(principal, principal.tenantId) };
  });

  r.get('/api/v1/projects', {
    schema: { summary: "The tenant's projects, newest first, with their external workspace ids", tags: ['tenants'], querystring: PageQuery, response: { 200: page(ProjectSchema), ...errors } },
  }, async (req) => tenants.listProjects(principalOf(req), req.query));

  r.patch('/api/v1/tenant', {
    schema: { summary: "Change the caller's own tenant's display name or branding (admin)", tags: ['tenants'], body: UpdateTenantBody, response: { 200: one(TenantSchema), ...errors } },
  }, async (req) => {
    const principal = principalOf(req);
    return { data: await tenants.update(principal, principal.tenantId, { displayName: req.body.display_name, branding: req.body.branding }) };
  });
}
