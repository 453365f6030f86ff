/**
 * `slipway up` for the bench, through test/support/platform.ts, in a home the bench owns: the
 * dynamic sections SIGKILL the server, the agent and instances, so after `up` has stopped the
 * bench checks that nothing of this home is left (processes, instances, namespaces, cgroups,
 * firewall table), removes whatever is, says so, and only then deletes the home.
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalDriver } from '../src/runtime/local/local-driver.js';
import { startPlatform, type Platform } from '../test/support/platform.js';
import { copyPgliteTemplate, testDatabaseUrl } from '../test/support/test-store.js';
import type { Cleanup } from './cleanup.js';

/** Where the platform's agent keeps its instance handles (`<id>.json`, with the pid). */
export const instanceHandleDir = (home: string): string => join(home, 'agent', 'instances');

/** Starts the platform; `cleanup` stops it, sweeps what it left behind and removes its home. */
export async function startBenchPlatform(cleanup: Cleanup, log: (line: string) => void): Promise<Platform> {
  const home = await mkdtemp(join(tmpdir(), 'slipway-bench-home-'));
  cleanup.add('remove the platform home', () => rm(home, { recursive: true, force: true }));
  // Unique per run, as test/support/platform.ts picks them, but known here for the sweep.
  const runtime = {
    SLIPWAY_INSTANCE_UID_BASE: String(1_100_000 + randomInt(0, 10_000) * 1000),
    SLIPWAY_INSTANCE_SUBNET: `10.${randomInt(100, 200)}.0.0/16`,
    SLIPWAY_RUNTIME_LABEL: `b${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`,
  };
  cleanup.add('sweep what slipway up left behind', () => sweep(home, runtime, log));
  if (!testDatabaseUrl) await copyPgliteTemplate(join(home, 'db'));
  const platform = await startPlatform({ home, env: runtime });
  cleanup.add('stop slipway up', () => platform.stop());
  return platform;
}

async function sweep(home: string, runtime: Record<string, string>, log: (line: string) => void): Promise<void> {
  const killed = await killProcessesOf(home);
  if (killed.length > 0) log(`  cleanup: ${killed.length} process(es) of the home outlived slipway up and were killed: ${killed.join(', ')}`);
  const handles = await readdir(instanceHandleDir(home)).catch(() => [] as string[]);
  if (handles.length > 0) log(`  cleanup: ${handles.length} instance handle(s) outlived slipway up: stopping them`);
  // Also sweeps the label's namespaces, veths, cgroups and nft table, handles or not.
  const driver = createLocalDriver({
    stateDir: instanceHandleDir(home), uidBase: process.getuid?.() === 0 ? Number(runtime.SLIPWAY_INSTANCE_UID_BASE) : undefined,
    subnet: runtime.SLIPWAY_INSTANCE_SUBNET, label: runtime.SLIPWAY_RUNTIME_LABEL!,
  });
  await driver.destroyAll();
}

/** SIGKILLs every process whose environment has `SLIPWAY_HOME=<home>`; returns their pids. */
export async function killProcessesOf(home: string): Promise<number[]> {
  const killed: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const env = await readFile(`/proc/${name}/environ`, 'utf8').catch(() => '');
    if (!env.split('\0').includes(`SLIPWAY_HOME=${home}`)) continue;
    try {
      process.kill(Number(name), 'SIGKILL');
      killed.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return killed;
}
