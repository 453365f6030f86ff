import type { FastifyRequest } from 'fastify';
import { SlipwayError } from '../core/errors.js';
import type { ApiKeyService } from '../services/api-keys.js';
import type { Principal } from '../services/context.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** Paths anyone may read. */
const PUBLIC_PATHS = new Set(['/api/v1/healthz', '/api/v1/openapi.json']);

/** The `Authorization: Bearer` check run before every handler. */
export function authHook(apiKeys: Pick<ApiKeyService, 'authenticate'>) {
  return async (request: FastifyRequest): Promise<void> => {
    const path = request.url.split('?', 1)[0]!;
    if (PUBLIC_PATHS.has(path) || !path.startsWith('/api/')) return;
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (header && !match) throw new SlipwayError('unauthorized', 'use Authorization: Bearer <api key>');
    const principal = await apiKeys.authenticate(match?.[1]);
    // The edge's and agents' key opens the internal endpoints and nothing else: it must not
    // read or change a tenant's deployments (or their secrets) if it leaks from a host.
    if (principal.role === 'internal' && !path.startsWith('/api/v1/internal/')) {
      throw new SlipwayError('forbidden', 'the internal key is only for the edge and agents (the /api/v1/internal endpoints)');
    }
    request.principal = principal;
  };
}

/** The caller of an authenticated route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new SlipwayError('unauthorized', 'missing API key');
  return request.principal;
}
