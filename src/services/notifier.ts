import { EventEmitter } from 'node:events';

/** Topics the notifier carries; each is a wake-up call, the store stays the source of truth. */
export interface NotifierTopics {
  /** A deployment's events changed (payload: deployment id). */
  events: string;
  /** An operation finished (payload: operation id). */
  operation: string;
  /**
   * A deployment's route changed (payload: deployment id), already recorded in the store's
   * route log by the transaction that changed it; RouteFeed reads the log when woken.
   */
  route: string;
  /** New queued work for a deployment (payload: deployment id). */
  work: string;
  /** What some host should run changed (payload: host id). */
  assignments: string;
  /** An instance's reported state changed (payload: deployment id). */
  instance: string;
  /** New instance log lines arrived (payload: deployment id). */
  logs: string;
  /** The live certificates changed (payload: certificate revision, as a string). */
  certificates: string;
  /**
   * Notifications from other servers may have been lost (a dropped listening connection):
   * consumers re-read the store (payload: why).
   */
  resync: string;
}

// A Record, so a new topic that is not listed here fails the type check.
const TOPICS: Record<keyof NotifierTopics, true> = {
  events: true, operation: true, route: true, work: true, assignments: true, instance: true, logs: true, certificates: true, resync: true,
};

/** True for a known topic: messages from other servers are checked before they are delivered. */
export function isNotifierTopic(name: string): name is keyof NotifierTopics {
  return Object.hasOwn(TOPICS, name);
}

/** Where a notification came from: this server (`local`) or another one sharing the store. */
export type NotifyOrigin = 'local' | 'remote';

/**
 * In-process notifications between services, the API's streams and the build worker. Waiters
 * always re-read the store after a wake-up, so a missed notification only costs latency (their
 * polls have deadlines). Servers sharing a PostgreSQL store use `SharedNotifier`
 * (shared-notifier.ts), which also carries every notification to the other servers.
 */
export class Notifier {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** Announces a change. */
  emit<K extends keyof NotifierTopics>(topic: K, payload: NotifierTopics[K]): void {
    this.deliver(topic, payload, 'local');
  }

  /** Hands a notification to this process's subscribers. */
  protected deliver<K extends keyof NotifierTopics>(topic: K, payload: NotifierTopics[K], origin: NotifyOrigin): void {
    this.emitter.emit(topic, payload, origin);
  }

  /**
   * Subscribes; returns the unsubscribe function. `origin` tells a change made by this server
   * from one announced by another server sharing the store.
   */
  on<K extends keyof NotifierTopics>(topic: K, fn: (payload: NotifierTopics[K], origin: NotifyOrigin) => void): () => void {
    this.emitter.on(topic, fn);
    return () => this.emitter.off(topic, fn);
  }

  /**
   * Resolves when `predicate` holds for a payload of `topic`, or after `timeoutMs` (false).
   * Callers loop: check the store, then wait here with a bounded timeout.
   */
  waitFor<K extends keyof NotifierTopics>(
    topic: K,
    predicate: (payload: NotifierTopics[K]) => boolean,
    timeoutMs: number,
  ): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const off = this.on(topic, (p) => {
        if (predicate(p)) done(true);
      });
      function done(value: boolean) {
        clearTimeout(timer);
        off();
        resolve(value);
      }
    });
  }

  /** Stops whatever connects this notifier to other servers (nothing, in process). */
  async close(): Promise<void> {}
}
