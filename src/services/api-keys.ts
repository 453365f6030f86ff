import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { ApiKeyRole } from '../core/states.js';
import { apiKeys, tenants } from '../store/schema.js';
import type { Db } from '../store/store.js';
import type { Principal, ServiceContext } from './context.js';

/** Only the hash of a token is stored; the token itself is shown once, at creation. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Options for {@link createApiKey}. */
export interface NewApiKey {
  tenantId: string;
  projectId?: string | null;
  role: ApiKeyRole;
  name: string;
}

/** Creates a key and returns its one-time token (`sk_…`) with its id. */
export async function createApiKey(db: Db, key: NewApiKey): Promise<{ id: string; token: string }> {
  const token = `sk_${randomBytes(32).toString('base64url')}`;
  const id = newId('key');
  await db.insert(apiKeys).values({
    id,
    tenantId: key.tenantId,
    projectId: key.projectId ?? null,
    role: key.role,
    name: key.name,
    tokenHash: hashToken(token),
    createdAt: new Date(),
  });
  return { id, token };
}

/** Resolves a bearer token to its principal; any unknown or revoked token is `unauthorized`. */
export async function authenticate(db: Db, token: string | undefined): Promise<Principal> {
  if (!token) throw new SlipwayError('unauthorized', 'missing API key: send Authorization: Bearer <key>');
  const [row] = await db
    .select({ key: apiKeys, tenantState: tenants.state })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    // A deleted tenant's keys were revoked with it; the check on the tenant holds even so.
    .where(and(eq(apiKeys.tokenHash, hashToken(token)), isNull(apiKeys.revokedAt), isNull(tenants.deletedAt)))
    .limit(1);
  if (!row) throw new SlipwayError('unauthorized', 'invalid API key');
  const { key } = row;
  return {
    keyId: key.id, tenantId: key.tenantId, projectId: key.projectId, role: key.role as ApiKeyRole,
    ...(row.tenantState === 'suspended' ? { tenantSuspended: true } : {}),
  };
}

/** True while the key is not revoked and its tenant not deleted: what an open stream re-checks. */
export async function isKeyLive(db: Db, keyId: string): Promise<boolean> {
  const [row] = await db.select({ id: apiKeys.id }).from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt), isNull(tenants.deletedAt)))
    .limit(1);
  return row !== undefined;
}

/**
 * Throws `forbidden` unless the principal has one of the roles. Roles nest: `operator` may do
 * whatever `admin` may, and `admin` whatever `member` may; `internal` and `read_only` only what
 * names them.
 */
export function requireRole(principal: Principal, roles: readonly ApiKeyRole[]): void {
  const held: readonly ApiKeyRole[] = principal.role === 'operator' ? ['operator', 'admin', 'member']
    : principal.role === 'admin' ? ['admin', 'member'] : [principal.role];
  if (!roles.some((r) => held.includes(r))) {
    throw new SlipwayError('forbidden', `this key's role (${principal.role}) may not do this`);
  }
}

/** API keys as the API sees them: a bearer token in, the caller out. */
export class ApiKeyService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Resolves a bearer token to its principal; any unknown or revoked token is `unauthorized`. */
  authenticate(token: string | undefined): Promise<Principal> {
    return authenticate(this.ctx.store.db, token);
  }

  /** True while the key is not revoked and its tenant not deleted. */
  isLive(keyId: string): Promise<boolean> {
    return isKeyLive(this.ctx.store.db, keyId);
  }
}
