import type { InstanceHandle, RuntimeDriver } from '../runtime/runtime-driver.js';

/** How often a draining instance's open connections are counted. */
const DRAIN_POLL_MS = 100;

/**
 * Waits until no connection is open to the app, or `timeoutMs` passes (the whole timeout when
 * the driver cannot count connections), or the app is gone.
 */
export async function drainInstance(driver: RuntimeDriver, handle: InstanceHandle, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && (await driver.isRunning(handle))) {
    if ((await driver.connectionCount(handle)) === 0) return;
    await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
}
