/**
 * Serializes async work per key inside one process: callers with the same key run one after
 * another in arrival order; different keys run in parallel. Used beneath the store's
 * cross-process lock so one server never races itself.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of `key` has finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      // Only the last waiter removes the entry, so the map does not grow with idle keys.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
