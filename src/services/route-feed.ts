import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Route, RouteMessage, RouteRelease } from '../core/routes.js';
import { deployments, rings, runtimeInstances, services, tenants, versions } from '../store/schema.js';
import { managedLabel } from '../core/slug.js';
import { DEFAULT_TENANT_SLUG } from './bootstrap.js';
import type { ServiceContext } from './context.js';
import { currentRouteRevision, routeChangesAfter } from './route-log.js';
import { loadRouteHosts } from './domains/route-hosts.js';

type Listener = (message: RouteMessage) => void;

/** Most changes sent one by one after a wake-up; further behind, watchers get a snapshot. */
const CATCH_UP_LIMIT = 200;

/**
 * How often a feed with watchers reads the store's revision even without a notification: a lost
 * NOTIFY (or a listening connection that died silently) then delays a change by this, not forever.
 */
export const ROUTE_BACKSTOP_MS = 1000;

/**
 * The routing table as the edge sees it, built from the store and pushed to watchers. A watcher
 * gets a full snapshot first and then one message per route change. Revisions come from the
 * store (route-log.ts): every service records its routing change in the transaction that makes
 * it, so a committed change is never lost, and servers sharing the store give it the same
 * revision. The `route` notification that follows is only a wake-up: every server then streams
 * the changes it has not sent yet, in revision order, each loaded after it was recorded, so an
 * edge never gets an older state of a route after a newer one (docs/architecture.md §7). A
 * timer re-reads the revision while there are watchers, in case a notification was lost.
 */
export class RouteFeed {
  /** The newest revision sent to watchers; undefined until first read from the store. */
  private revision: number | undefined;
  private readonly listeners = new Set<Listener>();
  /** Connected edges and the newest revision each has said it fully serves. */
  private readonly edges = new Map<string, number>();
  private readonly ackWaiters = new Set<() => void>();
  private readonly offs: Array<() => void>;
  private backstop: NodeJS.Timeout | undefined;
  private backstopPending = false;
  // Route changes are computed one at a time so watchers see them in commit order.
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ServiceContext) {
    const wake = () => this.kick(() => this.catchUp());
    this.offs = [
      // From this server or another one: either way the change is already in the store.
      ctx.notifier.on('route', wake),
      ctx.notifier.on('resync', wake),
    ];
  }

  /** Runs `step` after every step before it; its failure is logged and rejects the result. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.chain.then(step);
    this.chain = next.catch((err) => this.ctx.logger.error({ err }, 'route update failed'));
    return next;
  }

  /** Like {@link enqueue} for callers that do not wait: the failure is logged by the chain. */
  private kick(step: () => Promise<void>): void {
    this.enqueue(step).catch(() => undefined);
  }

  /**
   * Subscribes to changes: `listener` gets the snapshot first, then every change after it.
   * Returns the unsubscribe. An `edgeId` makes the watcher count in {@link waitForEdges} until
   * it closes.
   */
  async watch(listener: Listener, edgeId?: string): Promise<{ close(): void }> {
    // In the chain, and the snapshot handed over before the listener is added, so no change
    // reaches this watcher before (or instead of) its snapshot.
    await this.enqueue(async () => {
      await this.catchUp();
      const revision = this.revision ?? 0;
      listener({ type: 'snapshot', revision, routes: await this.load() });
      this.listeners.add(listener);
      if (edgeId) this.edges.set(edgeId, -1);
      this.startBackstop();
    });
    return {
      close: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stopBackstop();
        if (edgeId) this.edges.delete(edgeId);
        this.wakeAckWaiters();
      },
    };
  }

  private startBackstop(): void {
    if (this.backstop) return;
    this.backstop = setInterval(() => {
      // One step at a time: a slow store must not pile up reads.
      if (!this.backstopPending) {
        this.backstopPending = true;
        this.enqueue(() => this.catchUp()).catch(() => undefined).finally(() => { this.backstopPending = false; });
      }
    }, ROUTE_BACKSTOP_MS);
    this.backstop.unref();
  }

  private stopBackstop(): void {
    clearInterval(this.backstop);
    this.backstop = undefined;
  }

  /** Records that an edge fully serves `revision`. Unknown edges are ignored. */
  ack(edgeId: string, revision: number): void {
    if (!this.edges.has(edgeId)) return;
    this.edges.set(edgeId, revision);
    this.wakeAckWaiters();
  }

  /**
   * The store's revision now, once this server's watchers have been sent every change up to it:
   * it includes changes made by other servers whose notification has not arrived yet.
   */
  async settledRevision(): Promise<number> {
    await this.enqueue(() => this.catchUp());
    return this.revision ?? 0;
  }

  /**
   * Resolves true once every connected edge serves `revision`, or false after `timeoutMs`
   * (an edge that is slow or gone must not hold a publish forever).
   */
  async waitForEdges(revision: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ([...this.edges.values()].some((acked) => acked < revision)) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(left, 1000));
        this.ackWaiters.add(done);
        function done() {
          clearTimeout(timer);
          resolve();
        }
      });
    }
    return true;
  }

  private wakeAckWaiters(): void {
    const waiters = [...this.ackWaiters];
    this.ackWaiters.clear();
    for (const w of waiters) w();
  }

  /** Stops listening for changes. */
  stop(): void {
    for (const off of this.offs) off();
    this.listeners.clear();
    this.stopBackstop();
  }

  /** Sends watchers every recorded change after the last one sent (a snapshot when far behind). */
  private async catchUp(): Promise<void> {
    const db = this.ctx.store.db;
    if (this.revision === undefined || this.listeners.size === 0) {
      // Nobody to tell: only remember where the table stands.
      this.revision = await currentRouteRevision(db);
      return;
    }
    const current = await currentRouteRevision(db);
    if (current <= this.revision) return;
    const changes = await routeChangesAfter(db, this.revision, CATCH_UP_LIMIT + 1);
    // A gap means the changes were pruned while this server was not listening.
    if (changes.length === 0 || changes.length > CATCH_UP_LIMIT || changes[0]!.revision !== this.revision + 1) {
      const revision = Math.max(current, changes.at(-1)?.revision ?? 0);
      const message: RouteMessage = { type: 'snapshot', revision, routes: await this.load() };
      this.revision = revision;
      for (const l of this.listeners) l(message);
      return;
    }
    const routes = new Map((await this.load([...new Set(changes.map((c) => c.deploymentId))])).map((r) => [r.deployment_id, r]));
    for (const change of changes) {
      const route = routes.get(change.deploymentId);
      const message: RouteMessage = route
        ? { type: 'upsert', revision: change.revision, route }
        : { type: 'remove', revision: change.revision, deployment_id: change.deploymentId };
      this.revision = change.revision;
      for (const l of this.listeners) l(message);
    }
  }

  /** Routes of the given live deployments, or of all live deployments. */
  async load(ids?: string[]): Promise<Route[]> {
    const db = this.ctx.store.db;
    const deps = await db.select().from(deployments)
      .where(and(isNull(deployments.deletedAt), ids ? inArray(deployments.id, ids) : undefined));
    if (deps.length === 0) return [];
    const depIds = deps.map((d) => d.id);
    const ready = await db.select({ id: versions.id, deploymentId: versions.deploymentId, n: versions.versionNumber, sha: versions.artifactSha256, kind: versions.kind })
      // A collected release is nothing to serve: its preview host goes (GC records the change).
      .from(versions).where(and(inArray(versions.deploymentId, depIds), eq(versions.state, 'ready'), isNull(versions.artifactCollectedAt)));
    // Healthy instances that are meant to run are the upstreams; draining ones get no new requests.
    const healthy = await db.select({ versionId: runtimeInstances.versionId, address: runtimeInstances.address })
      .from(runtimeInstances).where(and(inArray(runtimeInstances.deploymentId, depIds), eq(runtimeInstances.state, 'healthy'), eq(runtimeInstances.desired, 'running')))
      .orderBy(asc(runtimeInstances.id));
    const upstreams = new Map<string, string[]>();
    for (const h of healthy) if (h.address) upstreams.set(h.versionId, [...(upstreams.get(h.versionId) ?? []), h.address]);
    const sticky = new Map((await db.select({ deploymentId: services.deploymentId, sticky: services.sticky }).from(services)
      .where(and(inArray(services.deploymentId, depIds), eq(services.type, 'web')))).map((r) => [r.deploymentId, r.sticky]));
    const active = await db.select({ deploymentId: rings.deploymentId, versionId: rings.activeVersionId })
      .from(rings).where(and(inArray(rings.deploymentId, depIds), eq(rings.name, 'production')));
    const releases = new Map<string, RouteRelease[]>();
    for (const v of ready) {
      const list = releases.get(v.deploymentId) ?? [];
      list.push(v.kind === 'dynamic'
        ? { version_number: v.n, version_id: v.id, artifact_sha256: v.sha!, kind: 'dynamic', upstreams: upstreams.get(v.id) ?? [] }
        : { version_number: v.n, version_id: v.id, artifact_sha256: v.sha! });
      releases.set(v.deploymentId, list);
    }
    const activeOf = new Map(active.map((a) => [a.deploymentId, a.versionId]));
    const tenantRows = await db.select({ id: tenants.id, slug: tenants.slug, state: tenants.state, branding: tenants.branding })
      .from(tenants).where(inArray(tenants.id, [...new Set(deps.map((d) => d.tenantId))]));
    const tenantOf = new Map(tenantRows.map((t) => [t.id, t]));
    const hostsOf = await loadRouteHosts(db, deps);
    return deps.map((d) => {
      const list = (releases.get(d.id) ?? []).sort((a, b) => a.version_number - b.version_number);
      const tenant = tenantOf.get(d.tenantId);
      const route: Route = {
        deployment_id: d.id, slug: d.slug, spa_fallback: d.spaFallback, ...(sticky.get(d.id) ? { sticky: sticky.get(d.id) } : {}),
        active: list.find((r) => r.version_id === activeOf.get(d.id)) ?? null, versions: list,
      };
      const hosts = hostsOf.get(d.id);
      if (hosts !== undefined) route.hosts = hosts;
      if (tenant && tenant.slug !== DEFAULT_TENANT_SLUG) {
        route.label = managedLabel(d.slug, tenant.slug);
        route.tenant = {
          id: tenant.id, slug: tenant.slug, ...(tenant.state === 'suspended' ? { suspended: true } : {}),
          ...(Object.keys(tenant.branding).length > 0 ? { branding: tenant.branding } : {}),
        };
      }
      return route;
    });
  }
}
