import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertSlug } from '../core/slug.js';
import { deployments, projects, rings, runtimeInstances } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { activeVersionId, findDeployment, loadDeploymentFacts, type DeploymentRow } from './deployment-queries.js';
import type { EnvService } from './env-service.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import { placementHost } from './instance-service.js';
import { idCursor } from './page-cursor.js';
import { presentDeployment, type DeploymentView } from './presenters.js';

/** Input of {@link DeploymentService.create}. */
export interface CreateDeploymentInput {
  slug: string;
  name?: string;
  projectId?: string;
  spaFallback?: boolean;
}

/** A page of a list, newest first. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Deployments: create, read, change, delete. Every call is scoped to the caller's tenant. */
export class DeploymentService {
  constructor(private readonly ctx: ServiceContext, private readonly env: EnvService) {}

  /** Creates a deployment with its production ring; a taken slug is `deployment_exists`. */
  async create(principal: Principal, input: CreateDeploymentInput): Promise<DeploymentView> {
    const slug = assertSlug(input.slug);
    const projectId = await this.resolveProject(principal, input.projectId);
    const now = new Date();
    const row: DeploymentRow = {
      id: newId('dep'), tenantId: principal.tenantId, projectId, slug, name: input.name ?? slug,
      spaFallback: input.spaFallback ?? false, nextVersionNumber: 1, createdAt: now, updatedAt: now, deletedAt: null,
    };
    const taken = () => new SlipwayError('deployment_exists', `the slug "${slug}" is taken`, { details: { slug } });
    const [existing] = await this.ctx.store.db.select({ id: deployments.id }).from(deployments)
      .where(and(eq(deployments.slug, slug), isNull(deployments.deletedAt))).limit(1);
    if (existing) throw taken();
    try {
      await this.ctx.store.db.transaction(async (tx) => {
        await tx.insert(deployments).values(row);
        await tx.insert(rings).values({ id: newId('rng'), deploymentId: row.id, name: 'production', activeVersionId: null, updatedAt: now });
        await recordEvent(tx, { tenantId: row.tenantId, deploymentId: row.id, type: 'deployment.created', actor: principal.keyId, reason: `created ${slug}` });
        await recordRouteChange(tx, row.id);
      });
    } catch (err) {
      // Two creates raced past the check: the unique index decides, the loser gets a clean 409.
      if (/unique|duplicate/i.test(String((err as { cause?: unknown }).cause ?? err))) throw taken();
      throw err;
    }
    this.ctx.notifier.emit('route', row.id);
    this.ctx.notifier.emit('events', row.id);
    return this.view(row);
  }

  /** One deployment by id or slug. */
  async get(principal: Principal, idOrSlug: string): Promise<DeploymentView> {
    return this.view(await findDeployment(this.ctx.store.db, principal, idOrSlug));
  }

  /** The stored row of a live deployment the caller may see; another tenant's is `deployment_not_found`. */
  find(principal: Principal, idOrSlug: string): Promise<DeploymentRow> {
    return findDeployment(this.ctx.store.db, principal, idOrSlug);
  }

  /** The production ring's active version; `version_not_ready` when nothing is active. */
  activeVersionId(dep: DeploymentRow): Promise<string> {
    return activeVersionId(this.ctx.store.db, dep);
  }

  /** Deployments newest first, optionally filtered by project or external workspace id. */
  async list(
    principal: Principal,
    q: { limit: number; cursor?: string; projectId?: string; externalWorkspaceId?: string },
  ): Promise<Page<DeploymentView>> {
    const db = this.ctx.store.db;
    const cursor = idCursor(q.cursor, 'dep');
    const rows = await db
      .select({ d: deployments })
      .from(deployments)
      .innerJoin(projects, eq(projects.id, deployments.projectId))
      .where(
        and(
          eq(deployments.tenantId, principal.tenantId),
          isNull(deployments.deletedAt),
          principal.projectId ? eq(deployments.projectId, principal.projectId) : undefined,
          q.projectId ? eq(deployments.projectId, q.projectId) : undefined,
          q.externalWorkspaceId ? eq(projects.externalWorkspaceId, q.externalWorkspaceId) : undefined,
          cursor !== undefined ? lt(deployments.id, cursor) : undefined,
        ),
      )
      .orderBy(desc(deployments.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit).map((r) => r.d);
    const facts = await loadDeploymentFacts(db, page.map((d) => d.id));
    return {
      data: page.map((d) => presentDeployment(this.ctx.config, d, facts.get(d.id)!)),
      next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
    };
  }

  /** Changes the name or the SPA fallback. */
  async update(principal: Principal, idOrSlug: string, patch: { name?: string; spaFallback?: boolean }): Promise<DeploymentView> {
    const row = await findDeployment(this.ctx.store.db, principal, idOrSlug);
    const changes = { name: patch.name ?? row.name, spaFallback: patch.spaFallback ?? row.spaFallback, updatedAt: new Date() };
    await this.ctx.store.db.transaction(async (tx) => {
      await tx.update(deployments).set(changes).where(eq(deployments.id, row.id));
      await recordEvent(tx, { tenantId: row.tenantId, deploymentId: row.id, type: 'deployment.updated', actor: principal.keyId, reason: 'settings changed', data: { name: changes.name, spa_fallback: changes.spaFallback } });
      await recordRouteChange(tx, row.id);
    });
    this.ctx.notifier.emit('route', row.id);
    return this.view({ ...row, ...changes });
  }

  /** Stops serving the deployment and frees its slug; versions and blobs stay, its environment goes. */
  async remove(principal: Principal, idOrSlug: string): Promise<DeploymentView> {
    const row = await findDeployment(this.ctx.store.db, principal, idOrSlug);
    const deletedAt = new Date();
    await this.ctx.store.db.transaction(async (tx) => {
      await tx.update(deployments).set({ deletedAt, updatedAt: deletedAt }).where(eq(deployments.id, row.id));
      await recordEvent(tx, { tenantId: row.tenantId, deploymentId: row.id, type: 'deployment.deleted', actor: principal.keyId, reason: `deleted ${row.slug}` });
      // Its instances drain and stop; their rows stay as history.
      await tx.update(runtimeInstances).set({ desired: 'stopped', reason: 'the deployment was deleted', updatedAt: deletedAt })
        .where(and(eq(runtimeInstances.deploymentId, row.id), eq(runtimeInstances.desired, 'running')));
      // Its secrets go now rather than linger with history nobody can serve any more.
      await this.env.forget(tx, row.id);
      await recordRouteChange(tx, row.id);
    });
    this.ctx.notifier.emit('route', row.id);
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    return this.view({ ...row, deletedAt });
  }

  /** The API view of a row. */
  async view(row: DeploymentRow): Promise<DeploymentView> {
    const facts = await loadDeploymentFacts(this.ctx.store.db, [row.id]);
    return presentDeployment(this.ctx.config, row, facts.get(row.id)!);
  }

  private async resolveProject(principal: Principal, requested?: string): Promise<string> {
    const wanted = requested ?? principal.projectId ?? undefined;
    const [row] = await this.ctx.store.db.select({ id: projects.id }).from(projects)
      .where(and(eq(projects.tenantId, principal.tenantId), wanted ? eq(projects.id, wanted) : undefined))
      .orderBy(projects.createdAt).limit(1);
    if (!row || (principal.projectId && row.id !== principal.projectId)) {
      throw new SlipwayError('invalid_request', `no project "${wanted}"`, { details: { field: 'project_id' } });
    }
    return row.id;
  }
}
