/** Runs async work with at most a fixed number of calls in flight. */
export type Limiter = <T>(work: () => Promise<T>) => Promise<T>;

/** A {@link Limiter} of `slots` concurrent calls; the rest wait in order. */
export function createLimiter(slots: number): Limiter {
  let running = 0;
  const waiting: Array<() => void> = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= slots) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}
