import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { SlipwayError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { assertSlug, managedLabel } from '../core/slug.js';
import { DEFAULT_TENANT_SLUG } from './bootstrap.js';
import { deployments, projects, rings, runtimeInstances, tenants } from '../store/schema.js';
import type { Principal, ServiceContext } from './context.js';
import { activeVersionId, findDeployment, loadDeploymentFacts, type DeploymentRow } from './deployment-queries.js';
import type { EnvService } from './env-service.js';
import { recordEvent } from './event-log.js';
import { recordRouteChange } from './route-log.js';
import { notifyCertificates, releaseDeploymentDomains } from './domains/domain-release.js';
import { placementHost } from './instance-service.js';
import { idCursor } from './page-cursor.js';
import { presentDeployment, type DeploymentView } from './presenters.js';

/** Input of {@link DeploymentService.create}. */
export interface CreateDeploymentInput {
  slug: string;
  name?: string;
  projectId?: string;
  spaFallback?: boolean;
  /** The operator's own name for a customer: the deployment goes into that project (made on first use). */
  externalWorkspaceId?: string;
}

/** DNS's limit on one label of a host name. */
const MAX_LABEL_LENGTH = 63;

/** A page of a list, newest first. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Deployments: create, read, change, delete. Every call is scoped to the caller's tenant. */
export class DeploymentService {
  constructor(private readonly ctx: ServiceContext, private readonly env: EnvService) {}

  /**
   * Creates a deployment with its production ring; a taken slug is `deployment_exists`. A new
   * external workspace's project is made in the same transaction, so a refused create leaves none.
   */
  async create(principal: Principal, input: CreateDeploymentInput): Promise<DeploymentView> {
    const slug = assertSlug(input.slug);
    assertNotPreviewLike(slug);
    await this.assertLabelFits(principal, slug);
    const workspace = input.externalWorkspaceId !== undefined && input.projectId === undefined ? input.externalWorkspaceId : undefined;
    // Two first creates in one new workspace must not make two projects for it.
    return workspace === undefined
      ? this.#create(principal, { ...input, slug }, { id: await this.resolveProject(principal, input.projectId) })
      : this.ctx.store.withLock(`workspace:${principal.tenantId}`, async () => this.#create(principal, { ...input, slug }, await this.workspaceProject(principal, workspace)));
  }

  /** Inserts the deployment (and its workspace's project when `newWorkspace` names one) in one transaction. */
  async #create(principal: Principal, input: CreateDeploymentInput, project: { id: string; newWorkspace?: string }): Promise<DeploymentView> {
    const { slug } = input;
    const now = new Date();
    const row: DeploymentRow = {
      id: newId('dep'), tenantId: principal.tenantId, projectId: project.id, slug, name: input.name ?? slug,
      spaFallback: input.spaFallback ?? false, nextVersionNumber: 1, createdAt: now, updatedAt: now, deletedAt: null,
    };
    const taken = () => new SlipwayError('deployment_exists', `the slug "${slug}" is taken`, { details: { slug } });
    const [existing] = await this.ctx.store.db.select({ id: deployments.id }).from(deployments)
      .where(and(eq(deployments.tenantId, principal.tenantId), eq(deployments.slug, slug), isNull(deployments.deletedAt))).limit(1);
    if (existing) throw taken();
    try {
      await this.ctx.store.db.transaction(async (tx) => {
        const workspace = project.newWorkspace;
        if (workspace !== undefined) await tx.insert(projects).values({ id: project.id, tenantId: principal.tenantId, name: workspace, externalWorkspaceId: workspace, createdAt: now });
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
    const released = await this.ctx.store.db.transaction(async (tx) => {
      await tx.update(deployments).set({ deletedAt, updatedAt: deletedAt }).where(eq(deployments.id, row.id));
      await recordEvent(tx, { tenantId: row.tenantId, deploymentId: row.id, type: 'deployment.deleted', actor: principal.keyId, reason: `deleted ${row.slug}` });
      // Its instances drain and stop; their rows stay as history.
      await tx.update(runtimeInstances).set({ desired: 'stopped', reason: 'the deployment was deleted', updatedAt: deletedAt })
        .where(and(eq(runtimeInstances.deploymentId, row.id), eq(runtimeInstances.desired, 'running')));
      // Its secrets go now rather than linger with history nobody can serve any more.
      await this.env.forget(tx, row.id);
      // Its custom domains are released: anyone may claim the names again.
      const domains = await releaseDeploymentDomains(tx, row.id, principal.keyId);
      await recordRouteChange(tx, row.id);
      return domains;
    });
    this.ctx.notifier.emit('route', row.id);
    // Their certificates were superseded with them: the edges stop offering them.
    if (released.certificates) await notifyCertificates(this.ctx);
    this.ctx.notifier.emit('assignments', placementHost(this.ctx.config));
    return this.view({ ...row, deletedAt });
  }

  /** The API view of a row. */
  async view(row: DeploymentRow): Promise<DeploymentView> {
    const facts = await loadDeploymentFacts(this.ctx.store.db, [row.id]);
    return presentDeployment(this.ctx.config, row, facts.get(row.id)!);
  }

  /**
   * `<slug>--<tenant slug>` is the first label of a non-default tenant's managed host and must
   * stay within DNS's 63 characters; `invalid_slug` says how long the slug may be.
   */
  private async assertLabelFits(principal: Principal, slug: string): Promise<void> {
    const [tenant] = await this.ctx.store.db.select({ slug: tenants.slug }).from(tenants).where(eq(tenants.id, principal.tenantId)).limit(1);
    const tenantSlug = tenant && tenant.slug !== DEFAULT_TENANT_SLUG ? tenant.slug : null;
    const label = managedLabel(slug, tenantSlug);
    if (label.length > MAX_LABEL_LENGTH) {
      const max = MAX_LABEL_LENGTH - (label.length - slug.length);
      throw new SlipwayError('invalid_slug', `"${slug}" is too long for this tenant: its host label ${label} must fit ${MAX_LABEL_LENGTH} characters, so at most ${max} characters`, {
        details: { field: 'slug', value: slug, max_length: max },
      });
    }
  }

  /**
   * The caller's project carrying `externalWorkspaceId`, or a new id for it (with `newWorkspace`:
   * the caller inserts it with the deployment). Called under the workspace lock.
   */
  private async workspaceProject(principal: Principal, externalWorkspaceId: string): Promise<{ id: string; newWorkspace?: string }> {
    const [row] = await this.ctx.store.db.select({ id: projects.id }).from(projects)
      .where(and(eq(projects.tenantId, principal.tenantId), eq(projects.externalWorkspaceId, externalWorkspaceId)))
      .orderBy(projects.createdAt).limit(1);
    const id = row?.id ?? newId('prj');
    if (principal.projectId !== null && id !== principal.projectId) {
      throw new SlipwayError('invalid_request', `this key is limited to another project than workspace "${externalWorkspaceId}"`, { details: { field: 'external_workspace_id' } });
    }
    return row === undefined ? { id, newWorkspace: externalWorkspaceId } : { id };
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

/** `v<N>` would make `v<N>--<tenant>`, the preview host of the default tenant's deployment `<tenant>`. */
const PREVIEW_LIKE_SLUG = /^v[0-9]+$/;

/** Refuses a new slug of the form `v<N>` (`invalid_slug`, reason `preview_syntax`), in every tenant alike. */
function assertNotPreviewLike(slug: string): void {
  if (PREVIEW_LIKE_SLUG.test(slug)) {
    throw new SlipwayError('invalid_slug', `"${slug}" looks like a version: v<N>--<name> hosts are preview hosts, choose another slug`, {
      details: { field: 'slug', value: slug, reason: 'preview_syntax' },
    });
  }
}
