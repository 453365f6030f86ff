/**
 * `slipway up` for the bench, through test/support/platform.ts, in a home the bench owns: the
 * dynamic sections SIGKILL the server, the agent and instances, so after `up` has stopped the
 * bench checks that nothing of this home is left (processes, instances, namespaces, cgroups,
 * scratch mounts, firewall tables, the build network), removes whatever is, says so, and only
 * then deletes the home.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPlatform, type Platform } from '../test/support/platform.js';
import { copyPgliteTemplate, testDatabaseUrl } from '../test/support/test-store.js';
import type { Cleanup } from './cleanup.js';
import { claimHostNames, cleanHostOf } from './host-cleanup.js';

/** Where the platform's agent keeps its instance handles (`<id>.json`, with the pid). */
export const instanceHandleDir = (home: string): string => join(home, 'agent', 'instances');

/** Starts the platform; `cleanup` stops it, sweeps what it left behind and removes its home. */
export async function startBenchPlatform(cleanup: Cleanup, log: (line: string) => void): Promise<Platform> {
  const home = await mkdtemp(join(tmpdir(), 'slipway-bench-home-'));
  cleanup.add('remove the platform home', () => rm(home, { recursive: true, force: true }));
  // Known here, not only inside startPlatform, for the sweep.
  const names = claimHostNames('b');
  cleanup.add('release the platform\'s subnets', () => names.release());
  cleanup.add('sweep what slipway up left behind', () => sweep(home, names.env, log));
  if (!testDatabaseUrl) await copyPgliteTemplate(join(home, 'db'));
  const platform = await startPlatform({ home, env: names.env });
  cleanup.add('stop slipway up', () => platform.stop());
  return platform;
}

async function sweep(home: string, env: Record<string, string>, log: (line: string) => void): Promise<void> {
  const handles = await readdir(instanceHandleDir(home)).catch(() => [] as string[]);
  if (handles.length > 0) log(`  cleanup: ${handles.length} instance handle(s) outlived slipway up: stopping them`);
  // Also sweeps the label's namespaces, veths, cgroups, mounts and nft tables, handles or not.
  const killed = await cleanHostOf(home, env);
  if (killed.length > 0) log(`  cleanup: ${killed.length} process(es) of the home outlived slipway up and were killed: ${killed.join(', ')}`);
}
