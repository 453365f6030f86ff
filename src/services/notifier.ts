import { EventEmitter } from 'node:events';

/** Topics the notifier carries; each is a wake-up call, the store stays the source of truth. */
export interface NotifierTopics {
  /** A deployment's events changed (payload: deployment id). */
  events: string;
  /** An operation finished (payload: operation id). */
  operation: string;
  /** A deployment's route changed (payload: deployment id). */
  route: string;
  /** New queued work for a deployment (payload: deployment id). */
  work: string;
  /** What some host should run changed (payload: host id). */
  assignments: string;
  /** An instance's reported state changed (payload: deployment id). */
  instance: string;
  /** New instance log lines arrived (payload: deployment id). */
  logs: string;
}

/**
 * In-process notifications between services, the API's streams and the build worker. Waiters
 * always re-read the store after a wake-up, so a missed notification only costs latency (their
 * polls have deadlines), and a multi-server setup can add LISTEN/NOTIFY behind this interface.
 */
export class Notifier {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  /** Announces a change. */
  emit<K extends keyof NotifierTopics>(topic: K, payload: NotifierTopics[K]): void {
    this.emitter.emit(topic, payload);
  }

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof NotifierTopics>(topic: K, fn: (payload: NotifierTopics[K]) => void): () => void {
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
}
