import type { InstanceReport } from '../core/runtime.js';
import type { RuntimeCapabilities } from '../runtime/runtime-driver.js';

/** How an agent delivers a report: `unknown_instance` means the server no longer wants it. */
export type ReportDelivery = (report: InstanceReport) => Promise<'ok' | 'unknown_instance' | 'failed'>;

/** How long a failed delivery waits before the tick loop tries again. */
const RETRY_MS = 1000;

/**
 * The newest unsent report of one instance. Only the newest matters (it carries the current
 * state), so a newer one replaces an undelivered older one; a failed delivery is retried from
 * the supervisor's tick loop every second, so a server that was away learns the current state
 * as soon as it is back.
 */
export class ReportQueue {
  private unsent: InstanceReport | null = null;
  private retryAt = 0;

  constructor(private readonly deliver: ReportDelivery) {}

  /** Whether an undelivered report is due for its retry. */
  due(now: number): boolean {
    return this.unsent !== null && now >= this.retryAt;
  }

  /** Queues `report` and sends it; see {@link flush}. */
  push(report: InstanceReport): Promise<boolean> {
    this.unsent = report;
    return this.flush();
  }

  /**
   * Sends the newest unsent report. True when the server said it does not know the instance
   * while it is still live (not a final `stopped` or `failed`): the caller forgets it.
   */
  async flush(): Promise<boolean> {
    const report = this.unsent;
    if (!report) return false;
    const outcome = await this.deliver(report);
    if (outcome === 'failed') {
      this.retryAt = Date.now() + RETRY_MS;
      return false;
    }
    if (this.unsent === report) this.unsent = null;
    return outcome === 'unknown_instance' && report.state !== 'stopped' && report.state !== 'failed';
  }
}

/** What a report says about this host's limits (`unenforced_limits`): null when the driver enforces them. */
export function unenforcedLimits(c: RuntimeCapabilities): string | null {
  return c.resourceLimits ? null : (c.resourceLimitsReason ?? 'the runtime driver does not enforce them');
}
