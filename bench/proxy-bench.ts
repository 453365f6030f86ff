/**
 * The edge as a reverse proxy against nginx on its own (bench/proxy-compare.ts); `npm run
 * bench` runs the same comparison as one of its sections.
 *
 * Usage: node --import tsx bench/proxy-bench.ts     (needs Debian's `wrk` and `nginx-light`)
 */
import { loadavg } from 'node:os';
import { cleanUpOnSignals, createCleanup } from './cleanup.js';
import { MEASURE_SECONDS, WARMUP_SECONDS } from './edge-bench.js';
import { measureProxy } from './proxy-compare.js';
import { formatProxy } from './report.js';

const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const cleanup = createCleanup(log);
  cleanUpOnSignals(cleanup, log);
  log(`Slipway proxy bench — ${new Date().toISOString()}, node ${process.version}, load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  log(`wrk -t1 -c50, ${WARMUP_SECONDS} s warm-up + ${MEASURE_SECONDS} s per run; compare ratios from this run only`);
  try {
    const result = await measureProxy({ cleanup, log });
    log(formatProxy(result));
    if (result.skipped) process.exitCode = 1;
  } catch (err) {
    log(cleanup.started ? 'interrupted' : `proxy bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

await main();
