import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { SlipwayError } from '../core/errors.js';
import { DEFAULT_MAX_JSON_BODY_BYTES } from '../core/limits.js';
import { newId } from '../core/ids.js';
import type { Services } from '../services/services.js';
import { authHook } from './auth.js';
import { handleError } from './error-handler.js';
import { limitJsonBodies } from './json-limit.js';
import { endAllSse } from './sse.js';
import { createUploadMemoryPool, type UploadMemoryPool } from './upload.js';
import { adminRoutes } from './routes/admin.js';
import { deploymentRoutes } from './routes/deployments.js';
import { detectRoutes } from './routes/detect.js';
import { eventRoutes } from './routes/events.js';
import { internalRoutes } from './routes/internal.js';
import { internalCertificateRoutes } from './routes/internal-certificates.js';
import { ARCHIVE_TYPES, publishRoutes } from './routes/publish.js';
import { logRoutes } from './routes/logs.js';
import { envRoutes } from './routes/env.js';
import { domainRoutes } from './routes/domains.js';
import { keyRoutes } from './routes/keys.js';
import { tenantRoutes } from './routes/tenants.js';
import { runtimeRoutes } from './routes/runtime.js';
import { versionRoutes } from './routes/versions.js';

/** Options for {@link createApi}. */
export interface ApiOptions {
  services: Services;
  logger?: Logger;
  /** The memory archive uploads share (default: {@link createUploadMemoryPool}'s, 128 MiB). */
  uploadMemory?: UploadMemoryPool;
}

/**
 * The HTTP API as a Fastify instance: `app.inject()` exercises it in-process, `app.listen()`
 * serves it. The OpenAPI document comes from the same zod schemas that validate requests.
 */
export async function createApi(options: ApiOptions): Promise<FastifyInstance> {
  const { services } = options;
  const maxJsonBodyBytes = services.ctx.config.limits.maxJsonBodyBytes ?? DEFAULT_MAX_JSON_BODY_BYTES;
  const app = Fastify({
    loggerInstance: options.logger,
    disableRequestLogging: true,
    genReqId: () => newId('req'),
    // Only JSON is parsed by Fastify (archives are streamed by the publish handler): this is its limit.
    bodyLimit: maxJsonBodyBytes,
    // Publishes with ?wait=true last as long as a build; the server must not cut them off.
    requestTimeout: 0,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => handleError(new SlipwayError('not_found', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply));
  // Archives are streamed by the publish handler: kept in memory only within `uploadMemory`.
  app.addContentTypeParser(ARCHIVE_TYPES, (_req, payload, done) => done(null, payload));
  limitJsonBodies(app, maxJsonBodyBytes);
  app.addHook('onSend', async (req, reply) => {
    void reply.header('x-request-id', req.id);
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Slipway API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  app.addHook('onRequest', authHook(services.apiKeys));
  app.addHook('preClose', async () => endAllSse(app));

  app.get('/api/v1/healthz', async () => ({ data: { status: 'ok' } }));
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  deploymentRoutes(app, services);
  // One pool for publishes and detections alike: together they stay within it.
  const uploadMemory = options.uploadMemory ?? createUploadMemoryPool();
  publishRoutes(app, services, uploadMemory);
  detectRoutes(app, services, uploadMemory);
  versionRoutes(app, services);
  eventRoutes(app, services);
  internalRoutes(app, services);
  internalCertificateRoutes(app, services);
  runtimeRoutes(app, services);
  envRoutes(app, services);
  domainRoutes(app, services);
  logRoutes(app, services);
  adminRoutes(app, services);
  tenantRoutes(app, services);
  keyRoutes(app, services);
  await app.ready();
  return app;
}
