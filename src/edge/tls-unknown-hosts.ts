/** Options for {@link UnknownHostGate}. */
export interface UnknownHostGateOptions {
  /** A host is let through at most once per this many milliseconds. */
  everyMs: number;
  /** Most hosts remembered at once; beyond it new hosts are not let through until some expire. */
  maxHosts: number;
  now?: () => number;
}

/**
 * Decides which SNI names without a certificate are passed to the edge's `onUnknownHost` hook:
 * each host at most once per `everyMs`, and at most `maxHosts` remembered at once. A client
 * sending a flood of distinct names fills the bound and is then ignored (until the window
 * passes), so the memory it can make the edge hold, and the calls it can cause, are bounded.
 */
export class UnknownHostGate {
  readonly #until = new Map<string, number>();
  readonly #options: UnknownHostGateOptions;
  readonly #now: () => number;

  constructor(options: UnknownHostGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** True when `host` may be passed on now (and starts its window). */
  admit(host: string): boolean {
    const now = this.#now();
    const until = this.#until.get(host);
    if (until !== undefined && until > now) return false;
    if (until === undefined && this.#until.size >= this.#options.maxHosts) {
      // Insertion order is expiry order (one window for all), so expired ones are at the front.
      for (const [known, end] of this.#until) {
        if (end > now) break;
        this.#until.delete(known);
      }
      if (this.#until.size >= this.#options.maxHosts) return false;
    }
    this.#until.delete(host);
    this.#until.set(host, now + this.#options.everyMs);
    return true;
  }

  /** Forgets `host`: a hook that declined it took nothing, so its next handshake may ask again. */
  forget(host: string): void {
    this.#until.delete(host);
  }

  /** Hosts remembered now (for tests and metrics). */
  get size(): number {
    return this.#until.size;
  }
}
