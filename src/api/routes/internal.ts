import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_BLOB_BATCH_COUNT } from '../../core/blob-batch.js';
import { SlipwayError } from '../../core/errors.js';
import { INSTANCE_STATES } from '../../core/runtime.js';
import { requireRole } from '../../services/api-keys.js';
import type { Services } from '../../services/services.js';
import { MAX_USAGE_REPORT } from '../../core/wake.js';
import { principalOf } from '../auth.js';
import { openSse } from '../sse.js';

/** What the edge and agents read: the routing table stream and release blobs. */
export function internalRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // Closing waits for every request in flight: the agents' long polls are answered at once
  // instead of holding a shutdown for up to their whole wait.
  const closing = new AbortController();
  app.addHook('preClose', async () => closing.abort());

  r.get('/api/v1/internal/routes', {
    schema: { hide: true, querystring: z.object({ watch: z.string().optional(), edge_id: z.string().max(100).optional() }) },
  }, async (req, reply) => {
    requireRole(principalOf(req), ['internal']);
    if (req.query.watch !== 'true') {
      return { data: await services.routes.load() };
    }
    const sse = openSse(req, reply);
    // The feed hands this listener the snapshot first, then each change in order.
    const { close } = await services.routes.watch((m) => sse.send(m.type, m), req.query.edge_id);
    await sse.closed;
    close();
    sse.end();
    return reply;
  });

  r.post('/api/v1/internal/edges/ack', {
    schema: { hide: true, body: z.object({ edge_id: z.string().max(100), revision: z.number().int() }) },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    services.routes.ack(req.body.edge_id, req.body.revision);
    return { data: { ok: true } };
  });

  // The edge answers /.well-known/acme-challenge/<token> on the hosts it serves from this.
  r.get('/api/v1/internal/challenges/:token', {
    schema: { hide: true, params: z.object({ token: z.string().min(1).max(128) }), querystring: z.object({ host: z.string().min(1).max(253) }) },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    const answer = await services.domains.answerChallenge(req.params.token, req.query.host);
    if (answer === null) throw new SlipwayError('not_found', 'no such challenge');
    return { data: answer };
  });

  // The edge asks for a version with no instance to be started (deduplicated per version).
  r.post('/api/v1/internal/wake', {
    schema: { hide: true, body: z.object({ deployment_id: z.string().min(1).max(100), version_number: z.number().int().min(1) }) },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    return { data: await services.wake.wake(req.body.deployment_id, req.body.version_number) };
  });

  // The edge's throttled report of which dynamic versions served requests (keeps woken ones up).
  r.post('/api/v1/internal/usage', {
    schema: { hide: true, body: z.object({ version_ids: z.array(z.string().max(100)).max(MAX_USAGE_REPORT) }) },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    services.wake.touch(req.body.version_ids);
    return { data: { ok: true } };
  });

  r.get('/api/v1/internal/hosts/:host/assignments', {
    schema: {
      hide: true, params: z.object({ host: z.string().min(1).max(100) }),
      querystring: z.object({ after: z.string().max(100).optional(), wait_ms: z.coerce.number().int().min(0).max(60_000).default(25_000) }),
    },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    const revision = await services.instances.waitForChange(req.query.after, req.query.wait_ms, closing.signal);
    return { data: { revision, assignments: await services.instances.assignments(req.params.host) } };
  });

  r.post('/api/v1/internal/hosts/:host/instances/:instance/report', {
    schema: {
      hide: true, params: z.object({ host: z.string().min(1).max(100), instance: z.string().min(1).max(100) }),
      body: z.object({
        runtime_instance_id: z.string().max(100), state: z.enum(INSTANCE_STATES), address: z.string().max(200).nullable(),
        reason: z.string().max(2000), reason_code: z.string().max(100).nullable(), restart_count: z.number().int().min(0),
        log_tail: z.string().max(20_000).optional(), unenforced_limits: z.string().max(2000).nullable().optional(),
      }),
    },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    if (req.body.runtime_instance_id !== req.params.instance) throw new SlipwayError('invalid_request', 'the body names another instance');
    await services.instances.report(req.params.host, req.body);
    return { data: { ok: true } };
  });

  r.post('/api/v1/internal/hosts/:host/instances/:instance/logs', {
    schema: {
      hide: true, params: z.object({ host: z.string().min(1).max(100), instance: z.string().min(1).max(100) }),
      body: z.object({ lines: z.array(z.object({ time: z.string().max(40), line: z.string().max(64 * 1024) })).max(2000) }),
    },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    return { data: { stored: await services.logs.append(req.params.host, req.params.instance, req.body.lines) } };
  });

  r.get('/api/v1/internal/blobs/:sha256', {
    schema: { hide: true, params: z.object({ sha256: z.string() }) },
  }, async (req, reply) => {
    requireRole(principalOf(req), ['internal']);
    const { size, stream } = await services.blobs.download(req.params.sha256);
    return reply.type('application/octet-stream').header('content-length', size).send(stream);
  });

  // Many small blobs in one answer (the files of a format-2 static release the edge lacks).
  r.post('/api/v1/internal/blobs/batch', {
    schema: { hide: true, body: z.object({ sha256: z.array(z.string().max(64)).min(1).max(MAX_BLOB_BATCH_COUNT) }) },
  }, async (req, reply) => {
    requireRole(principalOf(req), ['internal']);
    const { size, stream } = await services.blobs.downloadBatch(req.body.sha256);
    return reply.type('application/octet-stream').header('content-length', size).send(stream);
  });
}
