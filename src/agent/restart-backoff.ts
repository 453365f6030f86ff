import { RESTART_BACKOFF_MS } from '../core/runtime.js';

/** What to do after an instance failed: restart it after `delayMs`, or give up (crash loop). */
export type RestartDecision = { restart: true; delayMs: number } | { restart: false; restarts: number };

/**
 * The crash-loop rule of one instance (docs/architecture.md §3). Backoff is for repeated rapid
 * failures: the first failure of a run that had become healthy restarts at once, since one
 * crash of a working app says nothing about the next start and every second waited is a
 * second of outage. A failure that follows it (or a run that never became healthy) waits the
 * next step of `RESTART_BACKOFF_MS` (1 s, 2 s, 5 s, 30 s, 5 min). A stable run clears it all.
 * Every restart, the immediate one included, counts against the crash-loop budget: after
 * `budget` restarts in a row the instance fails.
 */
export class RestartBackoff {
  /** Restarts since the last stable run. */
  private failures = 0;
  /** How many of them waited: indexes the backoff table. */
  private waited = 0;

  constructor(private readonly budget: () => number) {}

  /** Restarts since the last stable run. */
  get count(): number {
    return this.failures;
  }

  /** The instance has run long enough to count as stable: the next failure starts afresh. */
  stable(): void {
    this.failures = 0;
    this.waited = 0;
  }

  /** Decides the restart after a failure; `wasHealthy`: the failed run had passed its health check. */
  next(wasHealthy: boolean): RestartDecision {
    if (this.failures >= this.budget()) return { restart: false, restarts: this.failures };
    const immediate = this.failures === 0 && wasHealthy;
    const delayMs = immediate ? 0 : RESTART_BACKOFF_MS[Math.min(this.waited++, RESTART_BACKOFF_MS.length - 1)]!;
    this.failures++;
    return { restart: true, delayMs };
  }
}
