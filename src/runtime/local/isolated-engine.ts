/**
 * The isolated mode: each instance gets a slot, and the slot gives it a uid, a network
 * namespace with its own /30 and a set of cgroups; it then runs in a bubblewrap sandbox as
 * that uid (see sandbox-argv.ts for the chain). Slots are found by scanning the persisted
 * handles, so a restarted agent never hands out a slot an adopted instance still holds.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { isProcessAlive } from '../../util/process-group.js';
import { waitFor } from '../../util/wait-for.js';
import type { InstanceHandle } from '../runtime-driver.js';
import { makeTreeReadable } from './app-permissions.js';
import {
  cgroupPids, createCgroups, destroyLabelCgroups, instanceCgroupDirs, killAll, labelledCgroupDirs, oomKilled,
  prepareCgroups, procsFiles, removeCgroups, signalCgroups,
} from './cgroup-v1.js';
import type { HandleStore } from './handle-store.js';
import type { HostTools } from './host-probe.js';
import type { InstanceEngine } from './instance-engine.js';
import { slotNet, type Subnet16 } from './instance-net.js';
import { createInstanceNetwork, destroyHostNetwork, prepareHostNetwork, removeInstanceNetwork, type HostNetworkConfig } from './net-namespace.js';
import { envArgs, sandboxArgv, systemRootArgs, WRAPPER_ENV } from './sandbox-argv.js';
import { spawnDetached } from './spawn-detached.js';

/** Options of {@link createIsolatedEngine}. */
export interface IsolatedEngineOptions {
  label: string;
  subnet: Subnet16;
  uidBase: number;
  /** Slots (and so uids and /30s) available. */
  maxInstances: number;
  tools: HostTools;
  bwrapTmpfsSize: boolean;
  store: HandleStore;
}

/** What an isolated handle's `data` holds. */
interface IsolatedData {
  mode: 'isolated';
  slot: number;
  ns: string;
  veth: string;
  uid: number;
  cgroups: string[];
  parentPid: number;
}

/** An engine that runs instances sandboxed, each in its own network namespace and cgroups. */
export function createIsolatedEngine(o: IsolatedEngineOptions): InstanceEngine {
  const net: HostNetworkConfig = { label: o.label, subnet: o.subnet, ip: o.tools.ip, nft: o.tools.nft };
  // Under /run: root-owned and world-traversable all the way, which bwrap (already running as
  // the instance's uid) needs to reach the mount point. Empty on the host; each instance
  // mounts its app here only in its private mount namespace.
  const runDir = join('/run/slipway', o.label);
  const mountPoint = join(runDir, 'app');
  const rootArgs = systemRootArgs();
  const reserved = new Set<number>();
  const readable = new Set<string>();

  const allocateSlot = async (): Promise<number> => {
    const handles = await o.store.list();
    // Read `reserved` only after the await, then pick and reserve with no await in between:
    // starts run concurrently, and a copy taken earlier misses slots reserved meanwhile (two
    // instances then share a netns and an address, and one tears down the other's network).
    const taken = new Set(reserved);
    for (const h of handles) {
      if (typeof h.data.slot === 'number') taken.add(h.data.slot);
    }
    for (let slot = 0; slot < o.maxInstances; slot++) {
      if (!taken.has(slot)) {
        reserved.add(slot);
        return slot;
      }
    }
    throw new SlipwayError('unavailable', `all ${o.maxInstances} instance slots of this host are in use`);
  };

  return {
    mode: 'isolated',
    async prepare() {
      await prepareHostNetwork(net);
      await prepareCgroups(o.label);
      await mkdir(mountPoint, { recursive: true, mode: 0o755 });
    },
    async start(spec, onExit) {
      const slot = await allocateSlot();
      const addr = slotNet(o.label, o.subnet, slot);
      const uid = o.uidBase + slot;
      const cgroups = [...instanceCgroupDirs(o.label, spec.id)];
      try {
        // Releases are immutable: once made readable, a tree stays so for this process.
        if (!readable.has(spec.appDir)) {
          await makeTreeReadable(spec.appDir);
          readable.add(spec.appDir);
        }
        await createCgroups(cgroups, spec.resources);
        await createInstanceNetwork(net, addr);
        const env = { HOME: '/tmp', TMPDIR: '/tmp', ...spec.env, PORT: String(spec.port) };
        const argv = sandboxArgv({
          tools: o.tools, cgroupProcs: procsFiles(cgroups), appDir: spec.appDir, mountPoint, ns: addr.ns, uid,
          tmpBytes: o.bwrapTmpfsSize ? spec.resources.disk_mb * 1024 * 1024 : null,
          hostname: spec.id.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63),
          runCommand: spec.runCommand, rootArgs,
        });
        const pid = await spawnDetached({
          argv, env: { ...WRAPPER_ENV }, logPath: spec.logPath, fd3Input: envArgs(env),
          onExit: (code, signal) => onExit(spec.id, code, signal),
        });
        await enteredCgroups(pid, cgroups);
        const data: IsolatedData = { mode: 'isolated', slot, ns: addr.ns, veth: addr.veth, uid, cgroups, parentPid: process.pid };
        return { id: spec.id, pid, address: `${addr.instanceIp}:${spec.port}`, startedAt: Date.now(), data: { ...data } };
      } catch (err) {
        await killAll(cgroups);
        await removeInstanceNetwork(net, addr);
        await removeCgroups(cgroups);
        reserved.delete(slot);
        throw err;
      }
    },
    isRunning(handle) {
      // The pids group is authoritative: whatever the instance forked or daemonised is there.
      const pidsDir = dataOf(handle).cgroups.find((d) => d.includes('/pids/'));
      return pidsDir !== undefined && cgroupPids([pidsDir]).length > 0;
    },
    oomKilled(handle) {
      return oomKilled(dataOf(handle).cgroups);
    },
    terminate(handle) {
      // bwrap's monitor and its pid-1 reaper are spared: SIGTERM kills them outright (the
      // reaper's death SIGKILLs the whole sandbox), while the app deserves its grace period.
      // Once the app exits they follow by themselves, with its exit status.
      signalCgroups(dataOf(handle).cgroups, 'SIGTERM', new Set([handle.pid, ...childrenOf(handle.pid)]));
    },
    async kill(handle) {
      const { cgroups } = dataOf(handle);
      if (!(await killAll(cgroups))) {
        throw new SlipwayError('internal_error', `instance ${handle.id} still has processes after SIGKILL`, { details: { cgroups } });
      }
    },
    async release(handle) {
      const d = dataOf(handle);
      await removeInstanceNetwork(net, d);
      await removeCgroups(d.cgroups);
      reserved.delete(d.slot);
    },
    async sweep() {
      for (const dirs of labelledCgroupDirs(o.label)) {
        await killAll(dirs);
        await removeCgroups(dirs);
      }
      await destroyHostNetwork(net);
      await destroyLabelCgroups(o.label);
      for (const dir of [mountPoint, runDir, '/run/slipway']) {
        await rmdir(dir).catch((err: NodeJS.ErrnoException) => {
          // /run/slipway may still hold another platform's folder.
          if (!['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes(err.code ?? '')) throw err;
        });
      }
    },
  };
}

function dataOf(handle: InstanceHandle): IsolatedData {
  const d = handle.data as Partial<IsolatedData>;
  if (d.mode !== 'isolated' || typeof d.slot !== 'number' || typeof d.ns !== 'string' || typeof d.veth !== 'string' || !Array.isArray(d.cgroups)) {
    throw new SlipwayError('internal_error', `handle of ${handle.id} is not an isolated instance's`, { details: { data: handle.data } });
  }
  return d as IsolatedData;
}

/**
 * Waits until the new process has written itself into its cgroups (the wrapper's first act),
 * so that from the moment start() returns the cgroup alone answers "is it running?". A
 * process that dies before getting there ends the wait too.
 */
async function enteredCgroups(pid: number, cgroups: readonly string[]): Promise<void> {
  const pidsDir = cgroups.filter((d) => d.includes('/pids/'));
  await waitFor(() => cgroupPids(pidsDir).includes(pid) || !isProcessAlive(pid), {
    timeoutMs: 5000, intervalMs: 2, description: `instance process ${pid} to enter its cgroups`,
  });
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
