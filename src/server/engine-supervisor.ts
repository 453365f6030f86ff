/**
 * Keeps `up`'s Docker engine running (SLIPWAY_RUNTIME_DRIVER=docker). dockerd is not one of the
 * supervisor's children: it is detached so that it outlives `up` for its containers, and may be
 * one a previous `up` left and this one adopted. So its pid is watched; when it is gone, the
 * engine is started again on the same state (or adopted, if someone else started it meanwhile),
 * with the same backoff as `up`'s own children (docs/operations.md). The agent's driver follows
 * the new engine by itself: its requests and event stream reconnect to the same socket, and
 * the instances whose containers did not survive are restarted like any that exited.
 */
import type { DockerEngine } from '../runtime/docker/engine.js';
import { isProcessAlive } from '../util/process-group.js';

/** Options of {@link EngineSupervisor}. */
export interface EngineSupervisorOptions {
  /** Starts the engine again, or adopts the one running on its state (`startContainerEngine`). */
  start: () => Promise<DockerEngine>;
  /** Where each restart, and each failure to restart, is said (`up`'s output). */
  print: (line: string) => void;
  /** How often the pid is checked (default 500 ms). */
  pollMs?: number;
  /** Waits before the 2nd, 3rd, … restart in a row (default 1 s, 2 s, 5 s, then 30 s each time). */
  backoffMs?: readonly number[];
  /** An engine that ran this long is healthy again: the next restart is immediate (default 60 s). */
  healthyAfterMs?: number;
  /**
   * After this many failed starts in a row it says once, louder, that it keeps failing (default
   * 5); a start that succeeds ends the streak, so a later one is said again.
   */
  loudAfter?: number;
}

const DEFAULT_BACKOFF_MS = [1000, 2000, 5000, 30_000];

/** Watches one engine and starts it again whenever its dockerd is gone, until {@link stop}. */
export class EngineSupervisor {
  #engine: DockerEngine;
  #startedAt = Date.now();
  // Restarts in a row without the engine having run healthyAfterMs: picks the backoff.
  #restarts = 0;
  // Starts that failed since the last one that worked: picks when to say it loudly.
  #failedStarts = 0;
  #stopped = false;
  #wake: (() => void) | null = null;
  readonly #loop: Promise<void>;
  readonly #options: Required<EngineSupervisorOptions>;

  constructor(engine: DockerEngine, options: EngineSupervisorOptions) {
    this.#engine = engine;
    this.#options = { pollMs: 500, backoffMs: DEFAULT_BACKOFF_MS, healthyAfterMs: 60_000, loudAfter: 5, ...options };
    this.#loop = this.#run();
  }

  /** The engine running now (a new object after each restart). */
  get engine(): DockerEngine {
    return this.#engine;
  }

  /** Stops watching; waits for a start under way, so the engine it returns is the one running. */
  async stop(): Promise<DockerEngine> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    return this.#engine;
  }

  // Resolves after `ms`, or at once when stopped.
  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }

  async #run(): Promise<void> {
    const { pollMs, print } = this.#options;
    while (!this.#stopped) {
      await this.#sleep(pollMs);
      if (this.#stopped || isProcessAlive(this.#engine.pid)) continue;
      const ranMs = Date.now() - this.#startedAt;
      if (ranMs >= this.#options.healthyAfterMs) this.#restarts = 0;
      print(`slipway: WARNING: the Docker engine (dockerd pid ${this.#engine.pid}) exited after ${Math.round(ranMs / 1000)} s; starting it again (its log: ${this.#engine.layout.logFile})`);
      await this.#restart();
    }
  }

  async #restart(): Promise<void> {
    const { backoffMs, print, loudAfter } = this.#options;
    while (!this.#stopped) {
      if (this.#restarts > 0) await this.#sleep(backoffMs[Math.min(this.#restarts - 1, backoffMs.length - 1)] ?? 30_000);
      if (this.#stopped) return;
      this.#restarts++;
      try {
        const old = this.#engine;
        this.#engine = await this.#options.start();
        this.#startedAt = Date.now();
        this.#failedStarts = 0;
        void old.api.close().catch(() => undefined);
        print(`slipway: the Docker engine is back: dockerd pid ${this.#engine.pid} (${this.#engine.started ? 'started' : 'adopted'})`);
        return;
      } catch (err) {
        this.#failedStarts++;
        print(`slipway: WARNING: the Docker engine did not start again (attempt ${this.#failedStarts}): ${(err as Error).message}`);
        if (this.#failedStarts === loudAfter) {
          print(`slipway: ERROR: the Docker engine keeps failing to start (${loudAfter} attempts in a row); Dockerfile apps are down until it does. Still retrying every ${Math.round((backoffMs.at(-1) ?? 30_000) / 1000)} s; see ${this.#engine.layout.logFile}`);
        }
      }
    }
  }
}
