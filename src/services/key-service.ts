import { and, desc, eq, isNull, lt, notInArray } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import type { ApiKeyRole, TenantKeyRole } from '../core/states.js';
import { apiKeys, projects } from '../store/schema.js';
import { createApiKey, requireRole } from './api-keys.js';
import type { Principal, ServiceContext } from './context.js';
import type { Page } from './deployment-service.js';
import { idCursor } from './page-cursor.js';
import { findTenant } from './tenant-service.js';

/** An API key as the API lists it: never its token or hash. */
export interface KeyView {
  id: string;
  tenant_id: string;
  name: string;
  role: ApiKeyRole;
  project_id: string | null;
  created_at: string;
}

/** A created key: the only answer that carries its token. */
export interface CreatedKeyView extends KeyView {
  token: string;
}

type KeyRow = typeof apiKeys.$inferSelect;

function presentKey(row: Pick<KeyRow, 'id' | 'tenantId' | 'name' | 'role' | 'projectId' | 'createdAt'>): KeyView {
  return { id: row.id, tenant_id: row.tenantId, name: row.name, role: row.role as ApiKeyRole, project_id: row.projectId, created_at: row.createdAt.toISOString() };
}

/**
 * A tenant's API keys, managed by its admins (the operator may name another tenant). A
 * project-scoped admin only sees and makes keys of its project. The platform's internal key is
 * never listed nor revocable here, and the operator key only by the operator (the default
 * tenant's admins must not lock the operator out).
 */
export class KeyService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Creates a key; its token is in this answer and nowhere else, ever. */
  async create(principal: Principal, input: { name: string; role: TenantKeyRole; projectId?: string; tenantId?: string }): Promise<CreatedKeyView> {
    const tenantId = this.tenantOf(principal, input.tenantId);
    const db = this.ctx.store.db;
    await findTenant(db, tenantId);
    const projectId = input.projectId ?? principal.projectId ?? null;
    if (principal.projectId !== null && projectId !== principal.projectId) {
      throw new SlipwayError('forbidden', 'a key limited to a project makes keys of that project only', { details: { field: 'project_id' } });
    }
    if (projectId !== null) {
      const [project] = await db.select({ id: projects.id }).from(projects).where(and(eq(projects.id, projectId), eq(projects.tenantId, tenantId))).limit(1);
      if (!project) throw new SlipwayError('invalid_request', `no project "${projectId}"`, { details: { field: 'project_id' } });
    }
    const { id, token } = await createApiKey(db, { tenantId, projectId, role: input.role, name: input.name });
    return { ...presentKey({ id, tenantId, name: input.name, role: input.role, projectId, createdAt: new Date() }), token };
  }

  /** The live keys of the caller's tenant (or, for the operator, of `tenantId`), newest first. */
  async list(principal: Principal, q: { limit: number; cursor?: string; tenantId?: string }): Promise<Page<KeyView>> {
    const tenantId = this.tenantOf(principal, q.tenantId);
    const cursor = idCursor(q.cursor, 'key');
    const rows = await this.ctx.store.db.select().from(apiKeys).where(and(
      eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt), notInArray(apiKeys.role, hiddenRoles(principal)),
      principal.projectId !== null ? eq(apiKeys.projectId, principal.projectId) : undefined,
      cursor !== undefined ? lt(apiKeys.id, cursor) : undefined,
    )).orderBy(desc(apiKeys.id)).limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    return { data: page.map(presentKey), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  /**
   * Revokes a key: from the next request on it is `unauthorized`. Another tenant's key (any
   * tenant's, for the operator) is `key_not_found`, like a made-up id.
   */
  async revoke(principal: Principal, id: string): Promise<KeyView> {
    requireRole(principal, ['admin']);
    const [row] = await this.ctx.store.db.update(apiKeys).set({ revokedAt: new Date() }).where(and(
      eq(apiKeys.id, id), isNull(apiKeys.revokedAt), notInArray(apiKeys.role, hiddenRoles(principal)),
      principal.role === 'operator' ? undefined : eq(apiKeys.tenantId, principal.tenantId),
      principal.projectId !== null ? eq(apiKeys.projectId, principal.projectId) : undefined,
    )).returning();
    if (!row) throw new SlipwayError('key_not_found', `no key "${id}"`, { details: { key: id } });
    return presentKey(row);
  }

  /** Admins act on their own tenant; only the operator may name another. */
  private tenantOf(principal: Principal, requested: string | undefined): string {
    requireRole(principal, ['admin']);
    if (requested === undefined || requested === principal.tenantId) return principal.tenantId;
    requireRole(principal, ['operator']);
    return requested;
  }
}

/**
 * Roles whose keys a principal neither sees nor revokes: the platform's `internal` key always
 * (revoking it cuts the edges and agents off), `operator` keys for anyone but the operator.
 */
function hiddenRoles(principal: Principal): ApiKeyRole[] {
  return principal.role === 'operator' ? ['internal'] : ['operator', 'internal'];
}
