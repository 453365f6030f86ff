/**
 * Whether the edge's table is the server's, so that a host missing from it is really unknown.
 * Until then (a restarted edge serving what it saved, the server not heard from yet) a miss may
 * be a deployment the saved table lacked or whose release is still loading: it must not get the
 * neutral 404, which clients and caches take as "gone".
 */
export interface RoutesLoaded {
  /** True once a snapshot from the server is served whole (or has had its time to load). */
  readonly loaded: boolean;
  /** Resolves true as soon as {@link loaded}, false after `timeoutMs` without it. */
  wait(timeoutMs: number): Promise<boolean>;
}

/** The gate behind {@link RoutesLoaded}, fed by the route stream and the sync's applied revisions. */
export interface RoutesLoadedGate extends RoutesLoaded {
  /** A snapshot at `revision` arrived on the route stream. */
  snapshot(revision: number): void;
  /**
   * `revision` is served whole (RouteSync's `onApplied`, which runs after the snapshot's pass;
   * a revision applied from the disk copy before any snapshot opens nothing).
   */
  applied(revision: number): void;
  /** Opens the gate for good and drops its timer (the edge is closing). */
  close(): void;
}

/**
 * A snapshot whose releases will not all load (a blob lost on the server) must not keep the
 * edge answering 503 for every unknown host: after this long the table counts as loaded anyway.
 */
const SNAPSHOT_LOAD_LIMIT_MS = 10_000;

/** Creates a closed gate; it opens once and stays open (a later reconnect serves the old table). */
export function createRoutesLoadedGate(options: { snapshotLoadLimitMs?: number } = {}): RoutesLoadedGate {
  let loaded = false;
  let expected: number | null = null;
  let limit: NodeJS.Timeout | undefined;
  const waiters = new Set<(loaded: boolean) => void>();
  const open = () => {
    if (loaded) return;
    loaded = true;
    clearTimeout(limit);
    for (const resolve of waiters) resolve(true);
    waiters.clear();
  };
  return {
    get loaded() {
      return loaded;
    },
    wait(timeoutMs) {
      if (loaded) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve(value);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(done);
      });
    },
    snapshot(revision) {
      if (loaded || expected !== null) return;
      expected = revision;
      limit = setTimeout(open, options.snapshotLoadLimitMs ?? SNAPSHOT_LOAD_LIMIT_MS);
      limit.unref();
    },
    applied(revision) {
      if (expected !== null && revision >= expected) open();
    },
    close: open,
  };
}
