import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireRole } from '../../services/api-keys.js';
import type { Services } from '../../services/services.js';
import { principalOf } from '../auth.js';
import { openSse } from '../sse.js';

/**
 * The edges' certificates (internal key only): the live ones as a stream of whole snapshots,
 * and a certificate on demand for a host an edge met in a handshake and holds none for.
 * Private keys travel here: nothing but the internal key opens these routes.
 */
export function internalCertificateRoutes(app: FastifyInstance, services: Services): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/v1/internal/certificates', {
    schema: { hide: true, querystring: z.object({ watch: z.string().optional() }) },
  }, async (req, reply) => {
    requireRole(principalOf(req), ['internal']);
    if (req.query.watch !== 'true') return { data: await services.certificates.snapshot() };
    const sse = openSse(req, reply);
    const { close } = await services.certificates.watch((snapshot) => sse.send('snapshot', snapshot));
    await sse.closed;
    close();
    sse.end();
    return reply;
  });

  // The allow-check is the service's: only a host a live deployment is served at gets one.
  r.post('/api/v1/internal/certificates/issue', {
    schema: { hide: true, body: z.object({ hostname: z.string().min(1).max(253) }) },
  }, async (req) => {
    requireRole(principalOf(req), ['internal']);
    // With ACME configured it issues every certificate (docs/domains.md#tls-certificates): no
    // local CA is started then, and a certificate from one nobody trusts would only hide the
    // real one. Without ACME the local CA serves managed hosts.
    const certificate = services.acme === undefined
      ? await services.localCa.onDemand(req.body.hostname)
      : await services.acme.certificateForEdge(req.body.hostname);
    return { data: { certificate: certificate ?? null } };
  });
}
