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

/** `DELETE` on this path revokes a key, which a suspended tenant may still do. */
const KEY_PATH = /^\/api\/v1\/keys\/[^/]+$/;

/** Methods a `read_only` key (or a suspended tenant's) may use. */
const READ_METHODS = new Set(['GET', 'HEAD']);

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
    if (!READ_METHODS.has(request.method)) {
      // Checked once here rather than in every handler, so no new route can forget it.
      if (principal.role === 'read_only') throw new SlipwayError('forbidden', 'this key is read-only: it may only GET');
      // Nothing a suspended tenant asks for may start its apps again (a publish, a scale).
      // Revoking a key stays open: a leaked key must be revocable whatever the tenant's state.
      if (principal.tenantSuspended && !(request.method === 'DELETE' && KEY_PATH.test(path))) {
        throw new SlipwayError('forbidden', 'the tenant is suspended: its keys may only read (and revoke keys) until it is resumed');
      }
    }
    request.principal = principal;
  };
}

/** How often an open stream re-checks its key at most (it also checks whenever it wakes). */
const STREAM_RECHECK_MS = 1000;

/**
 * For a long-lived stream (`?follow=true`): a check that its caller's key still opens the API.
 * A revoked key, or a deleted tenant's, ends the stream at its next wake (within about a
 * second), instead of leaking new events and logs for as long as the client stays connected.
 * It queries at most once per {@link STREAM_RECHECK_MS}.
 */
export function streamAuthCheck(apiKeys: Pick<ApiKeyService, 'isLive'>, principal: Principal): () => Promise<boolean> {
  let checkedAt = Date.now();
  return async () => {
    if (Date.now() - checkedAt < STREAM_RECHECK_MS) return true;
    checkedAt = Date.now();
    return apiKeys.isLive(principal.keyId);
  };
}

/** The caller of an authenticated route. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new SlipwayError('unauthorized', 'missing API key');
  return request.principal;
}
