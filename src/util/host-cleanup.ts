import { readdirSync } from 'node:fs';
import { isSlipwayError } from '../core/errors.js';

// "Already gone" is success for cleanup; anything else (a typo'd rule, no permission) is not.
const GONE = /No such file|Cannot find device|No such process|does not exist|not found/i;

/**
 * Awaits a host cleanup command (`ip`, `nft`, …) run with `runCommand`, treating "it is not
 * there" as done: cleanup runs again after crashes and must be idempotent. Other failures throw.
 */
export async function ignoreMissing(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!(isSlipwayError(err) && GONE.test(String(err.details.stderrTail)))) throw err;
  }
}

/** The names in `dir`, or none when it does not exist (or cannot be read). */
export function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
