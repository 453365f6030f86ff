/**
 * What a bench home leaves on the host, and removing it. The benches that SIGKILL a home's
 * processes "like a reboot" (restart, memory, mttr, wake) leave behind what only an orderly
 * stop removes: the instances' network namespaces, veths, cgroups, scratch mounts and firewall
 * table, and the server's build network (its table `slipway_<label>_build`, namespaces and
 * blackhole route), and a Docker engine's data-root moved out of the home. So each bench home is started with host names the bench picked itself
 * ({@link claimHostNames}), and its cleanup ends with {@link cleanHostOf}.
 */
import { randomInt } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseBuildSubnet } from '../src/build/build-net-rules.js';
import { destroyBuildNetwork } from '../src/build/build-network.js';
import { homePaths, loadConfig } from '../src/server/config.js';
import { runDown } from '../src/server/down.js';
import { processAlive } from '../src/util/process-alive.js';
import { waitFor } from '../src/util/wait-for.js';
import { claimHostValue } from '../test/support/host-claims.js';
import { randomInstanceUidBase } from '../test/support/platform.js';
import { engineLayout } from '../src/runtime/docker/engine.js';
import { dataRootTarget } from '../src/runtime/docker/engine-data-root.js';
import { removeDir } from '../src/util/temp-dir.js';

/** The `SLIPWAY_*` host names of one bench home, and the release of their claims. */
export interface HostNames {
  /** UID bases, subnets and runtime label, to pass to the home's `slipway up`. */
  env: Record<string, string>;
  /** Gives the subnets back; call once the home is cleaned (idempotent). */
  release(): void;
}

/**
 * Picks the host names of a bench home: its label starts with `prefix` (`b` the main bench
 * platform, `r` restart, `m` memory), so its leftovers are recognisable. Subnets are claimed
 * as test/support/platform.ts claims them, so a bench never shares one with a test running
 * at the same time.
 */
export function claimHostNames(prefix: string): HostNames {
  const instanceNet = claimHostValue('instance-subnet', 100, 200);
  const buildNet = claimHostValue('build-subnet', 200, 250);
  return {
    env: {
      SLIPWAY_BUILD_UID_BASE: String(200_000 + randomInt(0, 50_000) * 16),
      SLIPWAY_INSTANCE_UID_BASE: String(randomInstanceUidBase()),
      SLIPWAY_INSTANCE_SUBNET: `10.${instanceNet.value}.0.0/16`,
      SLIPWAY_BUILD_SUBNET: `10.${buildNet.value}.0.0/16`,
      SLIPWAY_RUNTIME_LABEL: `${prefix}${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`,
    },
    release() {
      instanceNet.release();
      buildNet.release();
    },
  };
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

/**
 * Cleans the host of everything `home`'s platform made, while the home still exists (the
 * instance handles are in it): SIGKILLs what still runs for the home, then does what
 * `slipway down --stop-apps` does once `up` has exited (the edge, every instance, the label's
 * namespaces, veths, cgroups, scratch mounts and firewall table; a Docker engine and its
 * containers), then removes the build network, which only the server's orderly stop removes.
 * `env` is what the home's `up` was started with. Returns the pids it had to kill; throws,
 * after trying every step, when a step failed.
 */
export async function cleanHostOf(home: string, env: Record<string, string | undefined>): Promise<number[]> {
  const killed = await killProcessesOf(home);
  const config = loadConfig({ ...env, SLIPWAY_HOME: home });
  const failures: string[] = [];
  // A remapped engine's data-root moved out of a closed home (/var/lib/slipway-docker/<hash>)
  // outlives the home; found now, while `docker/data` still links to it.
  const movedDataRoot = dataRootTarget(engineLayout(homePaths(home).docker).dataRoot);
  // Until reaped, a killed `up` still holds its pid: `down` would see the lock's pid alive
  // but no longer `slipway up`, and rightly refuse to go on.
  const lockPid = Number((await readFile(homePaths(home).upLock, 'utf8').catch(() => '')).trim());
  const pids = [...killed, ...(Number.isInteger(lockPid) && lockPid > 0 ? [lockPid] : [])];
  await waitFor(() => pids.every((pid) => !processAlive(pid)), { timeoutMs: 15_000, description: `the killed processes of ${home} to be reaped` })
    .catch((err: Error) => failures.push(err.message));
  let down = true;
  await runDown(config, { stopApps: true }, () => undefined).catch((err: Error) => {
    down = false;
    failures.push(err.message);
  });
  const ip = findTool('ip');
  const nft = findTool('nft');
  if (config.buildUidBase !== undefined && ip && nft) {
    await destroyBuildNetwork({ label: config.runtimeLabel, subnet: parseBuildSubnet(config.buildSubnet), instanceSubnet: config.instanceSubnet, ip, nft })
      .catch((err: Error) => failures.push(`the build network: ${err.message}`));
  }
  // Only once `down` stopped the engine: a live one has its layers mounted in there.
  if (movedDataRoot !== null && down) await removeDir(movedDataRoot).catch((err: Error) => failures.push(`${movedDataRoot}: ${err.message}`));
  if (failures.length > 0) throw new Error(`cleaning the host of ${config.runtimeLabel}: ${failures.join('; ')}`);
  return killed;
}

function findTool(name: string): string | null {
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return null;
}
