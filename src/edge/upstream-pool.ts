import { Pool } from 'undici';
import type { EdgeLogger } from './logger.js';

/** Options for {@link UpstreamPools}. */
export interface UpstreamPoolsConfig {
  /** Every upstream address some route uses right now (read on each sweep). */
  inUse: () => ReadonlySet<string>;
  logger: EdgeLogger;
  /** Time allowed for an upstream's response headers; default 60 s (then 504). */
  headersTimeoutMs?: number;
  /** Longest silence inside a response body before it is cut; default 5 min. */
  bodyTimeoutMs?: number;
  /** Time allowed to open a TCP connection to an upstream; default 10 s. */
  connectTimeoutMs?: number;
  /** A pool whose address left every route is closed after this long idle; default 60 s. */
  idleCloseMs?: number;
}

/** One upstream address: its keep-alive pool and the exchanges using it now. */
export interface UpstreamSlot {
  readonly address: string;
  readonly pool: Pool;
  /** Requests and WebSocket tunnels to this address in flight. */
  inflight: number;
  /** When a sweep first found the address unused and idle (0 while used). */
  unusedSince: number;
}

/**
 * One undici `Pool` per upstream address, shared by every route and release that names it, so
 * keep-alive connections survive route updates (a new release that keeps an instance keeps its
 * warm connections). A sweep closes the pools of addresses that no route names any more, but
 * only once nothing is in flight to them and they have stayed so for `idleCloseMs`: a slow
 * request started before a switch finishes on its old instance.
 */
export class UpstreamPools {
  readonly #c: UpstreamPoolsConfig;
  readonly #slots = new Map<string, UpstreamSlot>();
  readonly #idleCloseMs: number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(config: UpstreamPoolsConfig) {
    this.#c = config;
    this.#idleCloseMs = config.idleCloseMs ?? 60_000;
    this.#sweeper = setInterval(() => this.sweep(), Math.max(10, Math.floor(this.#idleCloseMs / 2)));
    this.#sweeper.unref();
  }

  /** The slot for `address` with one more exchange in flight; pair with {@link release}. */
  acquire(address: string): UpstreamSlot {
    let slot = this.#slots.get(address);
    if (slot === undefined) {
      const pool = new Pool(`http://${address}`, {
        headersTimeout: this.#c.headersTimeoutMs ?? 60_000,
        bodyTimeout: this.#c.bodyTimeoutMs ?? 300_000,
        connect: { timeout: this.#c.connectTimeoutMs ?? 10_000 },
      });
      slot = { address, pool, inflight: 0, unusedSince: 0 };
      this.#slots.set(address, slot);
    }
    slot.inflight++;
    return slot;
  }

  /** Ends one exchange started with {@link acquire}. */
  release(slot: UpstreamSlot): void {
    slot.inflight--;
  }

  /** Exchanges in flight to `address` (0 when it has no pool). */
  inflight(address: string): number {
    return this.#slots.get(address)?.inflight ?? 0;
  }

  /** Addresses that have a pool now. */
  addresses(): string[] {
    return [...this.#slots.keys()];
  }

  /** Closes the pools of addresses no route uses and nothing has used for `idleCloseMs`. */
  sweep(now = Date.now()): void {
    if (this.#slots.size === 0) return;
    const used = this.#c.inUse();
    for (const [address, slot] of this.#slots) {
      if (slot.inflight > 0 || used.has(address)) {
        slot.unusedSince = 0;
      } else if (slot.unusedSince === 0) {
        slot.unusedSince = now;
      } else if (now - slot.unusedSince >= this.#idleCloseMs) {
        this.#slots.delete(address);
        // close() still lets anything queued finish; nothing should be, by the check above.
        slot.pool.close().catch((err: unknown) => this.#c.logger.warn({ err, address }, 'closing an upstream pool failed'));
      }
    }
  }

  /** Stops sweeping and destroys every pool; for when the edge's clients are all gone. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const slots = [...this.#slots.values()];
    this.#slots.clear();
    await Promise.allSettled(slots.map((s) => s.pool.destroy()));
  }
}
