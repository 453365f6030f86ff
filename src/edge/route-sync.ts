import { isDeepStrictEqual } from 'node:util';
import { SlipwayError } from '../core/errors.js';
import type { Route, RouteMessage } from '../core/routes.js';
import type { EdgeLogger } from './logger.js';
import type { ReleaseCache } from './release-cache.js';
import type { RouteJournal } from './route-journal.js';
import { forEachNamedSha, RefSet, staticActiveSha } from './route-refs.js';
import type { RouteState } from './route-state.js';
import { createRouteEntry, type RouteEntry, type RouteTable } from './route-table.js';
import type { Site } from './site.js';

/** Options for {@link RouteSync}. */
export interface RouteSyncConfig {
  table: RouteTable;
  cache: ReleaseCache;
  /** Where each change to the served table is saved. */
  journal: RouteJournal;
  logger: EdgeLogger;
  /** Delay before retrying releases that failed to load: doubles from min to max. */
  retryMs?: { min: number; max: number };
  /** Called each time a revision becomes fully visible (to acknowledge it to the server). */
  onApplied?: (revision: number) => void;
}

/** Downloads at a time; a large snapshot must not open hundreds of blob requests at once. */
const LOAD_CONCURRENCY = 4;

/** Routes one pass may change and still be written as a journal line rather than a snapshot. */
const LARGE_CHANGE = 1000;

/**
 * Turns route messages into the served table without ever exposing an unloaded release.
 * Dynamic releases (proxied to running instances) are never loaded and publish at once.
 * Messages update the desired routes at once and mark what they name; a pass then updates, in
 * one synchronous step, every marked route whose active release is in memory, keeps the
 * previous entry (or nothing, if new) for routes whose release is still loading, and starts
 * those loads; each finished load marks its routes again. So a pass costs what changed, not the
 * table, and a slow download delays only its own route, never a rollback elsewhere. A failed
 * load keeps the old release serving and is retried with backoff. Each pass's changes go to the
 * journal (route-journal.ts).
 */
export class RouteSync {
  readonly #c: RouteSyncConfig;
  #desired = new Map<string, Route>();
  #desiredRevision = 0;
  #applied = -1;
  #waiters = new Set<{ revision: number; resolve: () => void }>();
  /** Deployments whose desired route changed, or whose release arrived, since the last pass. */
  #dirty = new Set<string>();
  /** Deployments not yet served with their desired route → the release each waits for. */
  #waiting = new Map<string, string>();
  /** Static active releases of desired routes: what is worth loading and keeping in {@link #ready}. */
  #activeShas = new RefSet();
  /** Every release a desired or served route names: what the cache keeps. */
  #namedShas = new RefSet();
  /** Releases the table serves → their sites: what the cache pins. */
  #pinnedShas = new RefSet();
  #pinnedSites = new Map<string, Site>();
  /** Loaded sites not yet published (kept here so the preview LRU cannot evict them first). */
  #ready = new Map<string, Site>();
  #loading = new Map<string, Promise<void>>();
  /** Releases to load, in the order asked, at most {@link LOAD_CONCURRENCY} at a time. */
  #loadQueue = new Set<string>();
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
   * listens. Releases missing from disk are then fetched in the background. The journal
   * already holds this state, so this pass is not written again.
   */
  async restore(state: RouteState): Promise<void> {
    for (const route of state.routes) this.#setDesired(route.deployment_id, route);
    this.#desiredRevision = state.revision;
    for (const sha of this.#activeShas.members) {
      try {
        this.#ready.set(sha, await this.#c.cache.load(sha, { offline: true }));
      } catch (err) {
        this.#c.logger.warn({ err, sha256: sha }, 'saved route has no usable release on disk');
      }
    }
    this.#pass(false);
  }

  /** Applies one watch-stream message; the table follows once its releases are loaded. */
  apply(message: RouteMessage): void {
    switch (message.type) {
      case 'snapshot': {
        const next = new Map(message.routes.map((r) => [r.deployment_id, r]));
        for (const id of this.#desired.keys()) if (!next.has(id)) this.#setDesired(id, undefined);
        for (const [id, route] of next) this.#setDesired(id, route);
        break;
      }
      case 'upsert':
        this.#setDesired(message.route.deployment_id, message.route);
        break;
      case 'remove':
        this.#setDesired(message.deployment_id, undefined);
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

  #setDesired(id: string, route: Route | undefined): void {
    const old = this.#desired.get(id);
    if (old === route) return;
    if (old !== undefined) {
      const sha = staticActiveSha(old);
      if (sha !== undefined) this.#activeShas.delete(sha);
      forEachNamedSha(old, (named) => this.#namedShas.delete(named));
    }
    if (route === undefined) {
      this.#desired.delete(id);
    } else {
      this.#desired.set(id, route);
      const sha = staticActiveSha(route);
      if (sha !== undefined) this.#activeShas.add(sha);
      forEachNamedSha(route, (named) => this.#namedShas.add(named));
    }
    this.#dirty.add(id);
  }

  /** Coalesces a burst (one network chunk often holds several messages) into one pass. */
  #schedule(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#closed) return;
      try {
        this.#pass(true);
      } catch (err) {
        // A bug here must not take the edge down: the last published table keeps serving.
        this.#c.logger.error({ err }, 'route update failed');
        this.#retryLater();
      }
    });
  }

  #pass(persist: boolean): void {
    const revision = this.#desiredRevision;
    const served = this.#c.table.current.byId;
    const upserts: RouteEntry[] = [];
    const removes: string[] = [];
    for (const id of this.#dirty) {
      const route = this.#desired.get(id);
      const old = served.get(id);
      this.#waiting.delete(id);
      if (route === undefined) {
        if (old !== undefined) removes.push(id);
        continue;
      }
      const sha = staticActiveSha(route);
      const site = sha === undefined ? null : this.#ready.get(sha) ?? this.#c.cache.get(sha);
      if (site === undefined) {
        this.#waiting.set(id, sha as string);
        this.#queueLoad(sha as string);
        continue;
      }
      // A snapshot after a reconnect repeats most routes: an equal one keeps its entry (and its
      // upstream state) and is not written again.
      if (old !== undefined && (old.target?.site ?? null) === site && isDeepStrictEqual(old.route, route)) continue;
      upserts.push(createRouteEntry(route, site));
    }
    this.#dirty.clear();
    if (upserts.length > 0 || removes.length > 0 || revision !== this.#c.table.current.revision) {
      for (const id of removes) this.#unpin(served.get(id));
      for (const entry of upserts) {
        this.#unpin(served.get(entry.route.deployment_id));
        this.#pin(entry);
      }
      this.#c.table.update(revision, upserts, removes);
      // A change of most of the table (a snapshot after a long absence) is cheaper written as
      // a new snapshot, in slices, than as one huge journal line.
      const large = upserts.length + removes.length > Math.max(LARGE_CHANGE, this.#c.table.current.byId.size / 2);
      if (persist && large) this.#c.journal.compact();
      else if (persist) this.#c.journal.append({ revision, upsert: upserts.map((e) => e.route), remove: removes });
    }
    this.#syncCache();
    this.#pumpLoads();
    if (this.#waiting.size > 0) return;
    this.#applied = revision;
    this.#c.onApplied?.(revision);
    for (const w of this.#waiters) {
      if (revision >= w.revision) {
        this.#waiters.delete(w);
        w.resolve();
      }
    }
  }

  #pin(entry: RouteEntry): void {
    if (entry.target === null || entry.route.active === null) return;
    const sha = entry.route.active.artifact_sha256;
    this.#pinnedShas.add(sha);
    this.#pinnedSites.set(sha, entry.target.site);
    this.#namedShas.add(sha);
  }

  #unpin(entry: RouteEntry | undefined): void {
    if (entry === undefined || entry.target === null || entry.route.active === null) return;
    const sha = entry.route.active.artifact_sha256;
    this.#pinnedShas.delete(sha);
    if (!this.#pinnedShas.has(sha)) this.#pinnedSites.delete(sha);
    this.#namedShas.delete(sha);
  }

  /** Tells the cache what is pinned and named, only when either set changed. */
  #syncCache(): void {
    for (const sha of this.#ready.keys()) {
      if (this.#pinnedShas.has(sha) || !this.#activeShas.has(sha)) this.#ready.delete(sha);
    }
    if (!this.#pinnedShas.changed && !this.#namedShas.changed) return;
    this.#pinnedShas.changed = false;
    this.#namedShas.changed = false;
    // Versions routes still list stay known (rollbacks, previews); a deleted deployment's go.
    this.#c.cache.pin(this.#pinnedSites, this.#namedShas.members);
  }

  #queueLoad(sha: string): void {
    if (!this.#loading.has(sha) && !this.#failed.has(sha)) this.#loadQueue.add(sha);
  }

  #pumpLoads(): void {
    for (const sha of this.#loadQueue) {
      if (this.#loading.size >= LOAD_CONCURRENCY) return;
      this.#loadQueue.delete(sha);
      // A route may have moved on while its release waited for a slot.
      if (this.#activeShas.has(sha) && !this.#loading.has(sha) && !this.#failed.has(sha)) this.#startLoad(sha);
    }
  }

  #startLoad(sha: string): void {
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
      for (const [id, wanted] of this.#waiting) if (wanted === sha) this.#dirty.add(id);
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
      for (const id of this.#waiting.keys()) this.#dirty.add(id);
      this.#schedule();
    }, delay);
    this.#retryTimer.unref();
  }
}
