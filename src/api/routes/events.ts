import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { presentEvent } from '../../services/presenters.js';
import type { Services } from '../../services/services.js';
import { principalOf, streamAuthCheck } from '../auth.js';
import { DeploymentParams, ErrorSchema, EventSchema, EventsQuery, flag, page } from '../schemas.js';
import { openSse } from '../sse.js';

/** A deployment's events: a page, or a live stream with `?follow=true`. */
export function eventRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const { ctx } = services;

  r.get('/api/v1/deployments/:deployment/events', {
    schema: {
      summary: 'Events, newest first; ?follow=true streams them (SSE, oldest first, starting with the last `limit`)',
      tags: ['events'], params: DeploymentParams, querystring: EventsQuery,
      response: { 200: page(EventSchema), 400: ErrorSchema, 401: ErrorSchema, 404: ErrorSchema },
    },
  }, async (req, reply) => {
    const principal = await services.tenants.scope(principalOf(req), req.query.external_workspace_id);
    const dep = await services.deployments.find(principal, req.params.deployment);
    const rows = await services.events.page(dep, { limit: req.query.limit + 1, cursor: req.query.cursor });
    const shown = rows.slice(0, req.query.limit);
    if (!flag(req.query.follow)) {
      return { data: shown.map(presentEvent), next_cursor: rows.length > req.query.limit ? shown[shown.length - 1]!.id : null };
    }
    const sse = openSse(req, reply);
    let last = '';
    for (const e of shown.reverse()) {
      sse.send('event', presentEvent(e), e.id);
      last = e.id;
    }
    let open = true;
    void sse.closed.then(() => (open = false));
    const stillAuthorized = streamAuthCheck(services.apiKeys, principal);
    while (open) {
      // Re-read after each wake-up; the 1 s bound also catches events written by other servers.
      await Promise.race([ctx.notifier.waitFor('events', (id) => id === dep.id, 1000), sse.closed]);
      if (!open || !(await stillAuthorized())) break;
      for (const e of await services.events.after(dep, last)) {
        sse.send('event', presentEvent(e), e.id);
        last = e.id;
      }
    }
    sse.end();
    return reply;
  });
}
