import { SlipwayError } from '../core/errors.js';
import type { Route, RouteMessage } from '../core/routes.js';
import type { EdgeLogger } from './logger.js';
import type { ReleaseCache } from './release-cache.js';
import { createRouteEntry, type RouteEntry, type RouteTable } from './route-table.js';
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
}

const LOAD_CONCURRENCY = 4;

/**
 * Turns route messages into the served table without ever exposing an unloaded release. The
 * messages update the desired routes at once; a serialized pass then loads every active
 * release the table lacks and only afterwards publishes the new table in one swap. A route
 * whose release fails to load keeps serving what it served before (or stays absent if new)
 * and the pass is retried with backoff. Bursts of messages coalesce into one pass.
 */
export class RouteSync {
  readonly #c: RouteSyncConfig;
  #desired = new Map<string, Route>();
  #desiredRevision = 0;
  #applied = -1;
  #waiters = new Set<{ revision: number; resolve: () => void }>();
  #running: Promise<void> | null = null;
  #again = false;
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
   * Serves the routes saved on disk, loading their releases from the disk cache only (the
   * server may be down). Routes whose release is not on disk are retried online later.
   */
  async restore(state: RouteState): Promise<void> {
    this.#desired = new Map(state.routes.map((r) => [r.deployment_id, r]));
    this.#desiredRevision = state.revision;
    await this.#pass(true);
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
        reject(new SlipwayError('unavailable', `routes did not reach revision ${revision}`, {
          details: { revision, applied: this.#applied },
        }));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Stops retries and waits for a running pass. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#running;
  }

  #schedule(): void {
    this.#again = true;
    if (this.#running !== null || this.#closed) return;
    this.#running = (async () => {
      while (this.#again && !this.#closed) {
        this.#again = false;
        try {
          await this.#pass(false);
        } catch (err) {
          this.#c.logger.error({ err }, 'route update failed');
          this.#retryLater();
        }
      }
    })().finally(() => {
      this.#running = null;
    });
  }

  async #pass(offline: boolean): Promise<void> {
    const revision = this.#desiredRevision;
    const routes = [...this.#desired.values()];
    const sites = await this.#loadAll(routes, offline);
    const current = this.#c.table.current;
    const entries: RouteEntry[] = [];
    let missing = 0;
    for (const route of routes) {
      const site = route.active === null ? null : sites.get(route.active.artifact_sha256);
      if (site !== undefined) {
        entries.push(createRouteEntry(route, site));
        continue;
      }
      missing++;
      const old = current.byId.get(route.deployment_id);
      if (old !== undefined) entries.push(old);
    }
    this.#c.table.publish(revision, entries);
    const pinned = new Map<string, Site>();
    for (const e of entries) {
      if (e.target !== null && e.route.active !== null) pinned.set(e.route.active.artifact_sha256, e.target.site);
    }
    this.#c.cache.pin(pinned);
    this.#c.writer.save({ revision, routes: entries.map((e) => e.route) });
    if (missing > 0) return this.#retryLater();
    this.#retryDelay = this.#c.retryMs?.min ?? 500;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#applied = revision;
    for (const w of this.#waiters) {
      if (revision >= w.revision) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** Loads the active releases of `routes`; failures are logged and left out of the map. */
  async #loadAll(routes: Route[], offline: boolean): Promise<Map<string, Site>> {
    const shas = [...new Set(routes.flatMap((r) => (r.active === null ? [] : [r.active.artifact_sha256])))];
    const sites = new Map<string, Site>();
    let next = 0;
    const worker = async () => {
      while (next < shas.length) {
        const sha = shas[next++] as string;
        try {
          sites.set(sha, await this.#c.cache.load(sha, { offline }));
        } catch (err) {
          this.#c.logger.warn({ err, sha256: sha, offline }, 'release not loaded; keeping the previous one');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LOAD_CONCURRENCY, shas.length) }, worker));
    return sites;
  }

  #retryLater(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const delay = this.#retryDelay;
    this.#retryDelay = Math.min(delay * 2, this.#c.retryMs?.max ?? 30_000);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#schedule();
    }, delay);
    this.#retryTimer.unref();
  }
}
