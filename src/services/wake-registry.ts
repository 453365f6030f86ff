/** Options for {@link WakeRegistry}. */
export interface WakeRegistryOptions {
  /** A version with no request for this long is idle. */
  idleMs: number;
  /** How long a failed wake is remembered (requests then get the failure, not a new boot). */
  failureHoldMs: number;
  /** The clock; tests pass their own. */
  now?: () => number;
}

/**
 * The in-memory bookkeeping of waking versions on demand, kept apart from the store so its rules
 * are easy to test: at most one boot per version at a time however many requests ask, a failed
 * boot answered as failed for a while instead of retried on every request, and when each
 * version was last used. Lost on a server restart, which only means a version counts as used
 * at the restart: it then stops one idle time later.
 */
export class WakeRegistry {
  readonly #options: WakeRegistryOptions;
  readonly #now: () => number;
  readonly #booting = new Map<string, { run: Promise<void>; group: string | undefined }>();
  readonly #failures = new Map<string, { at: number; reason: string }>();
  readonly #lastUsed = new Map<string, number>();

  constructor(options: WakeRegistryOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** True while a boot of `versionId` runs. */
  isBooting(versionId: string): boolean {
    return this.#booting.has(versionId);
  }

  /** The versions booting in `group` (a deployment). */
  bootingIn(group: string): string[] {
    return [...this.#booting].filter(([, b]) => b.group === group).map(([id]) => id);
  }

  /**
   * Runs `boot` unless one for the same version is running; returns false (and does not call it)
   * then. Its rejection is recorded as the version's failure; success clears an old one.
   * `group` (the deployment) is what {@link bootingIn} answers by.
   */
  start(versionId: string, boot: () => Promise<void>, group?: string): boolean {
    if (this.#booting.has(versionId)) return false;
    this.#failures.delete(versionId);
    this.touch(versionId);
    const run = (async () => {
      try {
        await boot();
        this.touch(versionId);
      } catch (err) {
        this.#failures.set(versionId, { at: this.#now(), reason: (err as Error).message });
      } finally {
        this.#booting.delete(versionId);
      }
    })();
    this.#booting.set(versionId, { run, group });
    return true;
  }

  /** Why the last wake of `versionId` failed, while that is recent enough to answer with. */
  failure(versionId: string): string | undefined {
    const failure = this.#failures.get(versionId);
    if (failure === undefined) return undefined;
    if (this.#now() - failure.at < this.#options.failureHoldMs) return failure.reason;
    this.#failures.delete(versionId);
    return undefined;
  }

  /** Records `versionId`'s failure (a crash loop after it booted) as if its wake had failed. */
  fail(versionId: string, reason: string): void {
    this.#failures.set(versionId, { at: this.#now(), reason });
  }

  /** When `versionId` last served a request (or booted); 0 when not known. */
  lastUsed(versionId: string): number {
    return this.#lastUsed.get(versionId) ?? 0;
  }

  /** Records a request to `versionId`. */
  touch(versionId: string): void {
    this.#lastUsed.set(versionId, this.#now());
  }

  /**
   * True when `versionId` has had no request for the idle time and is not booting. A version
   * never seen (after a restart) starts its idle time now.
   */
  isIdle(versionId: string): boolean {
    if (this.#booting.has(versionId)) return false;
    const last = this.#lastUsed.get(versionId);
    if (last === undefined) {
      this.touch(versionId);
      return false;
    }
    return this.#now() - last >= this.#options.idleMs;
  }

  /**
   * Forgets the idle clocks of versions not in `keep` (those with on-demand instances) that had
   * no request for the idle time, so versions served by replicas do not pile up here.
   */
  prune(keep: ReadonlySet<string>): void {
    const now = this.#now();
    for (const [id, last] of this.#lastUsed) {
      if (!keep.has(id) && !this.#booting.has(id) && now - last >= this.#options.idleMs) this.#lastUsed.delete(id);
    }
  }

  /** Forgets a version's use once its instances are stopped. */
  forget(versionId: string): void {
    this.#lastUsed.delete(versionId);
  }

  /** Resolves once every boot under way has finished (for shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#booting.values()].map((b) => b.run));
  }
}
