import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DOMAIN_STATES, TLS_STATES } from '../../core/states.js';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { DeploymentParams, ErrorSchema, one } from '../schemas.js';

const isoTime = z.string().describe('ISO 8601 time');

export const DomainSchema = z.object({
  id: z.string().nullable().describe('null for hosts with no row of their own: the managed host, and `<slug>.<tenant base>`'),
  kind: z.enum(['managed', 'tenant', 'custom']),
  hostname: z.string().describe('lower-case ASCII (punycode)'),
  deployment_id: z.string().nullable(),
  state: z.enum(DOMAIN_STATES),
  verified_by: z.enum(['dns', 'http']).nullable(),
  verified_at: isoTime.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable().describe('why the last check failed: which record was expected and what was found'),
  next_check_at: isoTime.nullable(),
  last_checked_at: isoTime.nullable().describe('when ownership was last checked; a verify within 10 s of it answers that result without checking again'),
  redirect_to: z.string().nullable(),
  https_redirect: z.boolean(),
  hsts_max_age: z.number().int().nullable(),
  tls_state: z.enum(TLS_STATES),
  tls_error: z.string().nullable(),
  removable: z.boolean(),
  created_at: isoTime.nullable(),
  verification: z.object({
    dns: z.object({ type: z.literal('TXT'), name: z.string(), value: z.string() }),
    http: z.object({ url: z.string(), body: z.string(), note: z.string() })
      .describe("served by the owner's own current web server before DNS points at Slipway; the edge never answers it"),
  }).nullable().describe('while not verified: create either record'),
}).meta({ id: 'Domain' });

const HostAtTimeSchema = z.object({
  hostname: z.string(),
  at: isoTime,
  domain_id: z.string().nullable(),
  deployment_id: z.string().nullable(),
  deployment_slug: z.string().nullable(),
  version_id: z.string().nullable(),
  version_number: z.number().int().nullable(),
}).meta({ id: 'HostAtTime' });

/** HSTS max-age up to two years, the preload lists' own bound. */
const Options = {
  redirect_to: z.string().min(1).max(300).nullable().optional().describe('redirect (308) every request to this host, same path'),
  https_redirect: z.boolean().optional().describe('redirect (308) plain HTTP to HTTPS'),
  hsts_max_age: z.number().int().min(0).max(63_072_000).nullable().optional().describe('Strict-Transport-Security max-age on HTTPS answers'),
};
const AddDomainBody = z.object({ hostname: z.string().min(1).max(1000), ...Options }).strict();
const DomainParams = z.object({ domain: z.string().min(1).max(300).describe('a domain id (dom_…) or its host name') });

/** Custom domains of deployments, the tenant's bases, verification and host history. */
export function domainRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema };
  const domains = services.domains;

  r.post('/api/v1/deployments/:deployment/domains', {
    schema: {
      summary: 'Claim a custom host name for a deployment; the answer says which DNS TXT record (or HTTP token) proves it',
      tags: ['domains'], params: DeploymentParams, body: AddDomainBody, response: { 201: one(DomainSchema), ...errors },
    },
  }, async (req, reply) => reply.code(201).send({ data: await domains.add(principalOf(req), req.params.deployment, req.body) }));

  r.get('/api/v1/deployments/:deployment/domains', {
    schema: {
      summary: "A deployment's hosts: the managed one, one per verified tenant base, and its custom domains",
      tags: ['domains'], params: DeploymentParams, response: { 200: one(z.array(DomainSchema)), ...errors },
    },
  }, async (req) => ({ data: await domains.list(principalOf(req), req.params.deployment) }));

  r.post('/api/v1/tenant/domains', {
    schema: {
      summary: "Claim a base for the tenant's deployments (`apps.example.com`: each is then served at `<slug>.apps.example.com`); tenant admins",
      tags: ['domains'], body: z.object({ hostname: z.string().min(1).max(1000) }).strict(), response: { 201: one(DomainSchema), ...errors },
    },
  }, async (req, reply) => reply.code(201).send({ data: await domains.addTenantBase(principalOf(req), req.body) }));

  r.get('/api/v1/tenant/domains', {
    schema: { summary: "The tenant's bases", tags: ['domains'], response: { 200: one(z.array(DomainSchema)), ...errors } },
  }, async (req) => ({ data: await domains.listTenantBases(principalOf(req)) }));

  r.get('/api/v1/domains/:domain', {
    schema: { summary: 'One claimed domain', tags: ['domains'], params: DomainParams, response: { 200: one(DomainSchema), ...errors } },
  }, async (req) => ({ data: await domains.get(principalOf(req), req.params.domain) }));

  r.post('/api/v1/domains/:domain/verify', {
    schema: {
      summary: 'Check ownership now (DNS TXT, then the HTTP token); a failed check keeps it pending and says what was found. Within 10 s of the last check, answers that check (`last_checked_at`)',
      tags: ['domains'], params: DomainParams, response: { 200: one(DomainSchema), ...errors },
    },
  }, async (req) => ({ data: await domains.verify(principalOf(req), req.params.domain) }));

  r.patch('/api/v1/domains/:domain', {
    schema: {
      summary: "Change a custom domain's redirect and HSTS options", tags: ['domains'], params: DomainParams,
      body: z.object(Options).strict(), response: { 200: one(DomainSchema), ...errors },
    },
  }, async (req) => ({ data: await domains.update(principalOf(req), req.params.domain, req.body) }));

  r.delete('/api/v1/domains/:domain', {
    schema: {
      summary: 'Release a host name: it stops being served and anyone may claim it again', tags: ['domains'], params: DomainParams,
      response: { 200: one(DomainSchema), ...errors },
    },
  }, async (req) => ({ data: await domains.remove(principalOf(req), req.params.domain) }));

  r.get('/api/v1/domains/:domain/history', {
    schema: {
      summary: 'Which deployment and version a custom host served at a time (`?at=`, default now), from the events',
      tags: ['domains'], params: DomainParams, querystring: z.object({ at: z.iso.datetime({ offset: true }).optional() }),
      response: { 200: one(HostAtTimeSchema), ...errors },
    },
  }, async (req) => ({ data: await domains.history(principalOf(req), req.params.domain, req.query.at ? new Date(req.query.at) : new Date()) }));
}
