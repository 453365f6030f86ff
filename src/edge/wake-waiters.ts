import { NOT_FOUND, canned } from './canned-responses.js';
import type { RouteTable } from './route-table.js';
import { hostVersion, waitForWake, type HostVersion, type WakeOutcome } from './upgrade-wake.js';
import type { WakeClient } from './wake-client.js';

/**
 * Most websocket handshakes one edge holds open while versions wake: each is an open socket
 * and a parsed request, and a burst at a sleeping version must not pile them up without end.
 */
export const DEFAULT_MAX_WAKE_WAITING = 256;

/** The answer past {@link DEFAULT_MAX_WAKE_WAITING}: at once, so the client backs off. */
export const TOO_MANY_WAITING = canned(503, 'Too many connections are waiting for this app to start; retry shortly.\n', {
  headers: ['Retry-After', '2'],
});

/** What {@link WakeWaiters} needs. */
export interface WakeWaitersConfig {
  table: RouteTable;
  wake: WakeClient;
  /** The longest a handshake waits for an instance (see {@link waitForWake}). */
  waitMs: number;
  /** Most handshakes waiting at once, over all versions; beyond it {@link TOO_MANY_WAITING}. */
  maxWaiting: number;
}

interface SharedWait {
  outcome: Promise<WakeOutcome>;
  /** Cuts the shared wait once every handshake on it has gone. */
  abort: AbortController;
  members: number;
}

/**
 * The handshakes of one edge waiting for sleeping versions. Concurrent handshakes to the same
 * version share one {@link waitForWake} (one wake call, one retry timer, one route listener),
 * however many there are; and at most `maxWaiting` wait at once.
 */
export class WakeWaiters {
  private readonly shared = new Map<string, SharedWait>();
  private count = 0;

  constructor(private readonly config: WakeWaitersConfig) {}

  /** Handshakes waiting now. */
  get waiting(): number {
    return this.count;
  }

  /**
   * Waits until `version` (served at `host`) has an instance, with the other handshakes to
   * it; `signal` is this handshake's own end (its client left, or the edge closes). Past the
   * cap it is refused at once.
   */
  async join(host: string, version: HostVersion, signal: AbortSignal): Promise<WakeOutcome> {
    if (this.count >= this.config.maxWaiting) return { refusal: TOO_MANY_WAITING };
    const key = `${version.deploymentId}\n${version.release.version_number}`;
    let wait = this.shared.get(key);
    if (wait === undefined) {
      const abort = new AbortController();
      const { table, wake, waitMs } = this.config;
      const created: SharedWait = { abort, members: 0, outcome: waitForWake({ table, wake, host, version, waitMs, signal: abort.signal }) };
      // A settled wait is not joined: a later handshake asks afresh.
      const forget = () => {
        if (this.shared.get(key) === created) this.shared.delete(key);
      };
      created.outcome.then(forget, forget);
      this.shared.set(key, created);
      wait = created;
    }
    this.count += 1;
    wait.members += 1;
    try {
      const outcome = await untilAborted(wait.outcome, signal);
      if (!('version' in outcome)) return outcome;
      // Woken for the first handshake's host; this one may have come by another (the preview
      // host of the active version), whose route is its own.
      const now = hostVersion(this.config.table, host);
      return now === null ? { refusal: NOT_FOUND } : { version: now };
    } finally {
      this.count -= 1;
      wait.members -= 1;
      if (wait.members === 0) {
        wait.abort.abort();
        if (this.shared.get(key) === wait) this.shared.delete(key);
      }
    }
  }
}

/** `outcome`, or `{ aborted: true }` as soon as `signal` aborts. */
function untilAborted(outcome: Promise<WakeOutcome>, signal: AbortSignal): Promise<WakeOutcome> {
  if (signal.aborted) return Promise.resolve({ aborted: true });
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve({ aborted: true });
    signal.addEventListener('abort', onAbort, { once: true });
    outcome.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
