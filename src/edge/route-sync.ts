import { SlipwayError } from '../core/errors.js';
import type { Route, RouteMessage } from '../core/routes.js';
import type { EdgeLogger } from './logger.js';
import type { ReleaseCache } from './release-cache.js';
import { createRouteEntry, isDynamic, type RouteEntry, type RouteTable } from './route-table.js';
import type { RouteState, RouteStateWriter } from './route-state.js';
import type { Site } from './site.js';

/** Options for {@link RouteSync}. */
export interface RouteSyncConfig {
  table: RouteTable;
  cache: ReleaseCache;
  writer: RouteStateWriter;
  logger: EdgeLogger;
  /** Delay before retrying releases that failed to load: doubles from min to max. */
  retryMs?: { min: number; max: number };
  /** Called each time a revision becomes fully visible (to acknowledge it to the server). */
  onApplied?: (revision: number) => void;
}

/** Downloads at a time; a large snapshot must not open hundreds of blob requests at once. */
const LOAD_CONCURRENCY = 4;

/**
 * Turns route messages into the served table without ever exposing an unloaded release.
 * Dynamic releases (proxied to running instances) are never loaded and publish at once.
 * Messages update the desired routes at once; a pass then publishes, in one table swap, every
 * route whose active release is in memory, keeps the previous entry (or nothing, if new) for
 * routes whose release is still loading, and starts those loads; each finished load triggers
 * another pass. So a slow download delays only its own route, never a rollback elsewhere. A
 * failed load keeps the old release serving and is retried with backoff.
 */
export class RouteSync {
  readonly #c: RouteSyncConfig;
  #desired = new Map<string, Route>();
  #desiredRevision = 0;
  #applied = -1;
  #waiters = new Set<{ revision: number; resolve: () => void }>();
  /** Loaded sites not yet published (kept here so the preview LRU cannot evict them first). */
  #ready = new Map<string, Site>();
  #loading = new Map<string, Promise<void>>();
  /** Shas whose last load failed: not retried before the retry timer fires. */
  #failed = new Set<string>();
  #scheduled = false;
  #retryDelay: number;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(config: RouteSyncConfig) {
    this.#c = config;
    this.#retryDelay = config.retryMs?.min ?? 500;
  }

  /** Revision of the last message whose routes are all visible with their desired releases. */
  get revision(): number {
    return this.#applied;
  }

  /**
   * Serves the routes saved on disk, with releases from the disk cache only, before the edge
   * listens. Releases missing from disk are then fetched in the background.
   */
  async restore(state: RouteState): Promise<void> {
    this.#desired = new Map(state.routes.map((r) => [r.deployment_id, r]));
    this.#desiredRevision = state.revision;
    for (const sha of activeShas(state.routes)) {
      try {
        this.#ready.set(sha, await this.#c.cache.load(sha, { offline: true }));
      } catch (err) {
        this.#c.logger.warn({ err, sha256: sha }, 'saved route has no usable release on disk');
      }
    }
    this.#pass();
  }

  /** Applies one watch-stream message; the table follows once its releases are loaded. */
  apply(message: RouteMessage): void {
    switch (message.type) {
      case 'snapshot':
        this.#desired = new Map(message.routes.map((r) => [r.deployment_id, r]));
        break;
      case 'upsert':
        this.#desired.set(message.route.deployment_id, message.route);
        break;
      case 'remove':
        this.#desired.delete(message.deployment_id);
        break;
      default:
        message satisfies never;
    }
    this.#desiredRevision = message.revision;
    this.#schedule();
  }

  /** Resolves once {@link revision} ≥ `revision`; rejects with `unavailable` after `timeoutMs`. */
  waitForRevision(revision: number, timeoutMs = 10_000): Promise<void> {
    if (this.#applied >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { revision, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        const details = { revision, applied: this.#applied };
        reject(new SlipwayError('unavailable', `routes did not reach revision ${revision}`, { details }));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Stops passes and retries, and waits for downloads under way (they write to disk). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await Promise.allSettled(this.#loading.values());
  }

  /** Coalesces a burst (one network chunk often holds several messages) into one pass. */
  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      try {
        this.#pass();
      } catch (err) {
        // A bug here must not take the edge down: the last published table keeps serving.
        this.#c.logger.error({ err }, 'route update failed');
        this.#retryLater();
      }
    });
  }

  #pass(): void {
    const revision = this.#desiredRevision;
    const current = this.#c.table.current;
    const entries: RouteEntry[] = [];
    let missing = 0;
    for (const route of this.#desired.values()) {
      // A dynamic release has nothing to load: its instances are already running.
      const sha = route.active === null || isDynamic(route.active) ? undefined : route.active.artifact_sha256;
      const site = sha === undefined ? null : this.#ready.get(sha) ?? this.#c.cache.get(sha);
      if (site !== undefined) {
        entries.push(createRouteEntry(route, site));
        continue;
      }
      missing++;
      this.#startLoad(sha as string);
      const old = current.byId.get(route.deployment_id);
      if (old !== undefined) entries.push(old);
    }
    this.#c.table.publish(revision, entries);
    const pinned = new Map<string, Site>();
    for (const e of entries) {
      if (e.target !== null && e.route.active !== null) pinned.set(e.route.active.artifact_sha256, e.target.site);
    }
    const wanted = new Set(activeShas([...this.#desired.values()]));
    // Versions routes still list stay known (rollbacks, previews); a deleted deployment's go.
    const named = new Set(wanted);
    for (const route of this.#desired.values()) for (const v of route.versions) named.add(v.artifact_sha256);
    this.#c.cache.pin(pinned, named);
    for (const sha of this.#ready.keys()) if (pinned.has(sha) || !wanted.has(sha)) this.#ready.delete(sha);
    this.#c.writer.save({ revision, routes: entries.map((e) => e.route) });
    if (missing > 0) return;
    this.#applied = revision;
    this.#c.onApplied?.(revision);
    for (const w of this.#waiters) {
      if (revision >= w.revision) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  #startLoad(sha: string): void {
    if (this.#loading.has(sha) || this.#failed.has(sha) || this.#loading.size >= LOAD_CONCURRENCY) return;
    const load = this.#c.cache.load(sha).then(
      (site) => {
        this.#ready.set(sha, site);
        this.#retryDelay = this.#c.retryMs?.min ?? 500;
      },
      (err: unknown) => {
        this.#c.logger.warn({ err, sha256: sha }, 'release not loaded; its route keeps the previous one');
        this.#failed.add(sha);
        this.#retryLater();
      },
    );
    this.#loading.set(sha, load);
    void load.finally(() => {
      this.#loading.delete(sha);
      this.#schedule();
    });
  }

  #retryLater(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(delay * 2, this.#c.retryMs?.max ?? 30_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#failed.clear();
      this.#schedule();
    }, delay);
    this.#retryTimer.unref();
  }
}

/** The releases that must be in memory before their routes are published (static only). */
function activeShas(routes: Route[]): string[] {
  return [...new Set(routes.flatMap((r) => (r.active === null || isDynamic(r.active) ? [] : [r.active.artifact_sha256])))];
}
