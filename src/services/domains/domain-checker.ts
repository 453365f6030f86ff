import type { Logger } from 'pino';

/** How often the server looks for due checks; the backoff itself starts at 10 s. */
export const DOMAIN_CHECK_EVERY_MS = 5_000;

/** What the loop drives: {@link DomainService.checkDue}. */
export interface DueChecks {
  checkDue(): Promise<number>;
}

/**
 * The server's background loop that retries pending verifications with backoff. One pass at a
 * time in this process; across servers the claim in `checkDue` keeps two from checking one
 * domain at once.
 */
export class DomainChecker {
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> = Promise.resolve();
  #running = false;

  constructor(private readonly checks: DueChecks, private readonly logger: Logger, private readonly everyMs = DOMAIN_CHECK_EVERY_MS) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A slow pass (DNS timeouts) must not pile up behind itself.
      if (this.#running) return;
      this.#running = true;
      this.#pass = this.checks.checkDue().then(() => undefined)
        .catch((err: unknown) => this.logger.warn({ err }, 'domain verification pass failed'))
        .finally(() => { this.#running = false; });
    }, this.everyMs);
    this.#timer.unref();
  }

  /** Stops the loop and waits for a pass under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#pass;
  }
}
