import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertSlug } from '../core/slug.js';
import type { TenantBranding, TenantState } from '../core/states.js';
import { deployments, projects, tenants } from '../store/schema.js';
import type { Db, Tx } from '../store/store.js';
import { requireRole } from './api-keys.js';
import type { Principal, ServiceContext } from './context.js';
import type { Page } from './deployment-service.js';
import { idCursor } from './page-cursor.js';
import { recordRouteChange } from './route-log.js';

/**
 * A tenant's slug is at most this long, so that `<deployment slug>--<tenant slug>`, the first
 * label of its apps' managed hosts, leaves a deployment slug room within DNS's 63 characters.
 */
export const MAX_TENANT_SLUG_LENGTH = 20;

export type TenantRow = typeof tenants.$inferSelect;

/** A tenant as the API shows it. */
export interface TenantView {
  id: string;
  slug: string;
  display_name: string;
  state: TenantState;
  branding: TenantBranding;
  suspended_at: string | null;
  created_at: string;
}

/** A project as the API lists it. */
export interface ProjectView {
  id: string;
  name: string;
  /** The operator's own id for the customer this project holds the deployments of. */
  external_workspace_id: string | null;
  created_at: string;
}

/** The API view of a tenant row. */
export function presentTenant(row: TenantRow): TenantView {
  return {
    id: row.id, slug: row.slug, display_name: row.displayName, state: row.state, branding: row.branding,
    suspended_at: row.suspendedAt?.toISOString() ?? null, created_at: row.createdAt.toISOString(),
  };
}

/** A live tenant by id; a deleted or unknown one is `tenant_not_found`. */
export async function findTenant(db: Db | Tx, id: string): Promise<TenantRow> {
  const [row] = await db.select().from(tenants).where(and(eq(tenants.id, id), isNull(tenants.deletedAt))).limit(1);
  if (!row) throw new SlipwayError('tenant_not_found', `no tenant "${id}"`, { details: { tenant: id } });
  return row;
}

/** Records a route change for every live deployment of a tenant: the edges re-read its routes (which carry the tenant). */
export async function touchTenantRoutes(tx: Tx, tenantId: string): Promise<string[]> {
  const live = await tx.select({ id: deployments.id }).from(deployments)
    .where(and(eq(deployments.tenantId, tenantId), isNull(deployments.deletedAt)));
  for (const d of live) await recordRouteChange(tx, d.id);
  return live.map((d) => d.id);
}

/**
 * Tenants: the operator creates, lists and changes them; a tenant's admin changes its own
 * display name and branding. Suspension and deletion are {@link TenantLifecycle}'s.
 */
export class TenantService {
  constructor(private readonly ctx: ServiceContext) {}

  /** Creates a tenant with its first project; a taken slug is `tenant_exists`. Operator only. */
  async create(principal: Principal, input: { slug: string; displayName?: string }): Promise<TenantView> {
    requireRole(principal, ['operator']);
    const slug = assertSlug(input.slug);
    if (slug.length > MAX_TENANT_SLUG_LENGTH) {
      throw new SlipwayError('invalid_slug', `a tenant slug is at most ${MAX_TENANT_SLUG_LENGTH} characters (its apps are served at <app>--${slug}.<domain>)`, {
        details: { field: 'slug', value: slug, max_length: MAX_TENANT_SLUG_LENGTH },
      });
    }
    const now = new Date();
    const row: TenantRow = {
      id: newId('ten'), name: slug, slug, displayName: input.displayName ?? slug, state: 'active', branding: {},
      suspendedAt: null, deletedAt: null, createdAt: now,
    };
    const taken = () => new SlipwayError('tenant_exists', `the tenant slug "${slug}" is taken`, { details: { slug } });
    const db = this.ctx.store.db;
    const [existing] = await db.select({ id: tenants.id }).from(tenants).where(and(eq(tenants.slug, slug), isNull(tenants.deletedAt))).limit(1);
    if (existing) throw taken();
    try {
      await db.transaction(async (tx) => {
        await tx.insert(tenants).values(row);
        await tx.insert(projects).values({ id: newId('prj'), tenantId: row.id, name: 'default', createdAt: now });
      });
    } catch (err) {
      // Two creates raced past the check: the unique index decides.
      if (/unique|duplicate/i.test(String((err as { cause?: unknown }).cause ?? err))) throw taken();
      throw err;
    }
    return presentTenant(row);
  }

  /** Live tenants, newest first. Operator only. */
  async list(principal: Principal, q: { limit: number; cursor?: string }): Promise<Page<TenantView>> {
    requireRole(principal, ['operator']);
    const cursor = idCursor(q.cursor, 'ten');
    const rows = await this.ctx.store.db.select().from(tenants)
      .where(and(isNull(tenants.deletedAt), cursor !== undefined ? lt(tenants.id, cursor) : undefined))
      .orderBy(desc(tenants.id)).limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    return { data: page.map(presentTenant), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  /** One tenant: any for the operator; for anyone else only the caller's own (`tenant_not_found` otherwise). */
  async get(principal: Principal, id: string): Promise<TenantView> {
    if (principal.role !== 'operator' && id !== principal.tenantId) throw new SlipwayError('tenant_not_found', `no tenant "${id}"`, { details: { tenant: id } });
    return presentTenant(await findTenant(this.ctx.store.db, id));
  }

  /**
   * Changes a tenant's display name or branding (already validated by the API schema). The
   * operator may change any tenant; an admin its own (`id` is then the caller's tenant).
   */
  async update(principal: Principal, id: string, patch: { displayName?: string; branding?: TenantBranding }): Promise<TenantView> {
    requireRole(principal, id === principal.tenantId ? ['admin'] : ['operator']);
    if (principal.projectId !== null) throw new SlipwayError('forbidden', "changing the tenant needs a key not limited to a project");
    const db = this.ctx.store.db;
    const touched = await db.transaction(async (tx) => {
      const row = await findTenant(tx, id);
      const changes = { displayName: patch.displayName ?? row.displayName, branding: patch.branding ?? row.branding };
      await tx.update(tenants).set(changes).where(eq(tenants.id, id));
      // The routes carry the branding the edge renders its pages with: they must be re-read.
      return { row: { ...row, ...changes }, deploymentIds: patch.branding ? await touchTenantRoutes(tx, id) : [] };
    });
    for (const d of touched.deploymentIds) this.ctx.notifier.emit('route', d);
    return presentTenant(touched.row);
  }

  /** The caller's projects (only its own for a project-scoped key), newest first, with their external workspace ids. */
  async listProjects(principal: Principal, q: { limit: number; cursor?: string }): Promise<Page<ProjectView>> {
    const cursor = idCursor(q.cursor, 'prj');
    const rows = await this.ctx.store.db.select().from(projects).where(and(
      eq(projects.tenantId, principal.tenantId),
      principal.projectId !== null ? eq(projects.id, principal.projectId) : undefined,
      cursor !== undefined ? lt(projects.id, cursor) : undefined,
    )).orderBy(desc(projects.id)).limit(q.limit + 1);
    const page = rows.slice(0, q.limit).map((p) => ({ id: p.id, name: p.name, external_workspace_id: p.externalWorkspaceId, created_at: p.createdAt.toISOString() }));
    return { data: page, next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
  }

  /**
   * The caller narrowed to the project of the tenant carrying `externalWorkspaceId` (the
   * operator's own name for one of its customers). A workspace nobody has, or one outside a
   * project-scoped key's project, matches nothing, so every lookup through it is a 404.
   */
  async scope(principal: Principal, externalWorkspaceId: string | undefined): Promise<Principal> {
    if (externalWorkspaceId === undefined) return principal;
    const [row] = await this.ctx.store.db.select({ id: projects.id }).from(projects)
      .where(and(eq(projects.tenantId, principal.tenantId), eq(projects.externalWorkspaceId, externalWorkspaceId)))
      .orderBy(projects.createdAt).limit(1);
    const projectId = row && (principal.projectId === null || principal.projectId === row.id) ? row.id : 'prj_none';
    return { ...principal, projectId };
  }
}
