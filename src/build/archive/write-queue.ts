/** Bounds for a {@link WriteQueue}. */
export interface WriteQueueOptions {
  /** Most tasks running at once (at least 1). */
  maxTasks: number;
  /**
   * Most bytes held by running tasks together. A task larger than this still runs, alone, so
   * one big task cannot wait forever.
   */
  maxBytes: number;
}

/**
 * Runs background tasks that each hold some bytes of memory (a file body waiting to be written),
 * with at most `maxTasks` running and `maxBytes` held at once: {@link add} waits for room, which
 * is the backpressure that keeps a fast reader from buffering a whole archive. The first failure
 * is kept; from then on {@link add} and {@link check} throw it and no new task starts.
 */
export class WriteQueue {
  readonly #options: WriteQueueOptions;
  readonly #running = new Set<Promise<void>>();
  #bytes = 0;
  #failed = false;
  #failure: unknown;

  constructor(options: WriteQueueOptions) {
    this.#options = { maxTasks: Math.max(1, options.maxTasks), maxBytes: options.maxBytes };
  }

  /** Starts `task` holding `bytes` once there is room; throws the first failure instead. */
  async add(bytes: number, task: () => Promise<void>): Promise<void> {
    while (this.#running.size > 0 && (this.#running.size >= this.#options.maxTasks || this.#bytes + bytes > this.#options.maxBytes)) {
      this.check();
      await Promise.race(this.#running);
    }
    this.check();
    this.#bytes += bytes;
    const run: Promise<void> = task()
      .catch((err: unknown) => {
        if (!this.#failed) {
          this.#failed = true;
          this.#failure = err;
        }
      })
      .finally(() => {
        this.#bytes -= bytes;
        this.#running.delete(run);
      });
    this.#running.add(run);
  }

  /** Throws the first failure, if a task failed. */
  check(): void {
    if (this.#failed) throw this.#failure;
  }

  /** Waits for every task; throws the first failure. */
  async drain(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Waits for every task to end, without throwing. */
  async settle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }
}
