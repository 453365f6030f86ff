import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import type { Route, RouteMessage, RouteRelease } from '../core/routes.js';
import { deployments, rings, runtimeInstances, services, versions } from '../store/schema.js';
import type { ServiceContext } from './context.js';

type Listener = (message: RouteMessage) => void;

/**
 * The routing table as the edge sees it, built from the store and pushed to watchers. A watcher
 * gets a full snapshot first and then one message per changed deployment; revisions count up
 * within this server's life, and a reconnecting edge simply receives a new snapshot.
 */
export class RouteFeed {
  private revision = 0;
  private readonly listeners = new Set<Listener>();
  /** Connected edges and the newest revision each has said it fully serves. */
  private readonly edges = new Map<string, number>();
  private readonly ackWaiters = new Set<() => void>();
  private readonly off: () => void;
  // Route changes are computed one at a time so watchers see them in commit order.
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: ServiceContext) {
    this.off = ctx.notifier.on('route', (id) => {
      this.chain = this.chain.then(() => this.publish(id)).catch((err) => ctx.logger.error({ err }, 'route update failed'));
    });
  }

  /**
   * Subscribes to changes and returns the snapshot to send first, plus the unsubscribe. An
   * `edgeId` makes the watcher count in {@link waitForEdges} until it closes.
   */
  async watch(listener: Listener, edgeId?: string): Promise<{ snapshot: RouteMessage; close(): void }> {
    this.listeners.add(listener);
    if (edgeId) this.edges.set(edgeId, -1);
    const routes = await this.load();
    return {
      snapshot: { type: 'snapshot', revision: this.revision, routes },
      close: () => {
        this.listeners.delete(listener);
        if (edgeId) this.edges.delete(edgeId);
        this.wakeAckWaiters();
      },
    };
  }

  /** Records that an edge fully serves `revision`. Unknown edges are ignored. */
  ack(edgeId: string, revision: number): void {
    if (!this.edges.has(edgeId)) return;
    this.edges.set(edgeId, revision);
    this.wakeAckWaiters();
  }

  /** The revision that includes every route change notified so far. */
  async settledRevision(): Promise<number> {
    await this.chain;
    return this.revision;
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
    this.off();
    this.listeners.clear();
  }

  private async publish(deploymentId: string): Promise<void> {
    if (this.listeners.size === 0) return;
    const [route] = await this.load([deploymentId]);
    this.revision++;
    const message: RouteMessage = route
      ? { type: 'upsert', revision: this.revision, route }
      : { type: 'remove', revision: this.revision, deployment_id: deploymentId };
    for (const l of this.listeners) l(message);
  }

  /** Routes of the given live deployments, or of all live deployments. */
  async load(ids?: string[]): Promise<Route[]> {
    const db = this.ctx.store.db;
    const deps = await db.select().from(deployments)
      .where(and(isNull(deployments.deletedAt), ids ? inArray(deployments.id, ids) : undefined));
    if (deps.length === 0) return [];
    const depIds = deps.map((d) => d.id);
    const ready = await db.select({ id: versions.id, deploymentId: versions.deploymentId, n: versions.versionNumber, sha: versions.artifactSha256, kind: versions.kind })
      .from(versions).where(and(inArray(versions.deploymentId, depIds), eq(versions.state, 'ready')));
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
    return deps.map((d) => {
      const list = (releases.get(d.id) ?? []).sort((a, b) => a.version_number - b.version_number);
      return {
        deployment_id: d.id, slug: d.slug, spa_fallback: d.spaFallback, ...(sticky.get(d.id) ? { sticky: sticky.get(d.id) } : {}),
        active: list.find((r) => r.version_id === activeOf.get(d.id)) ?? null, versions: list,
      };
    });
  }
}
