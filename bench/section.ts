/** What every section of `npm run bench` works with, and how a section runs. */
import type { Platform } from '../test/support/platform.js';
import type { Cleanup } from './cleanup.js';
import type { TargetLine } from './report.js';

/** Prints one line of the report. */
export const log = (line: string): void => void process.stdout.write(`${line}\n`);

/** The running platform and where results go. */
export interface Context {
  platform: Platform;
  /** A scratch folder, removed at the end. */
  work: string;
  cleanup: Cleanup;
  summary: TargetLine[];
}

/** Runs a section; a failure is printed, marks the run as unmeasured, and the next section goes on. */
export async function section<T>(ctx: Context, title: string, body: () => Promise<T>): Promise<T | undefined> {
  log(`\n${title}`);
  try {
    return await body();
  } catch (err) {
    log(ctx.cleanup.started ? '  interrupted' : `  could not measure: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
    return undefined;
  }
}
