/**
 * The isolated mode: each instance gets a slot, and the slot gives it a uid, a network
 * namespace with its own /30 and, where the host's cgroups can limit it, a set of cgroups (v1 or
 * v2, see cgroups.ts); it then runs in a bubblewrap sandbox as that uid (see sandbox-argv.ts
 * for the chain). Without cgroups it runs the same, unlimited. Slots are found by scanning
 * the persisted handles, so a restarted agent never hands out a slot an adopted instance still holds.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { isProcessAlive } from '../../util/process-group.js';
import { waitFor } from '../../util/wait-for.js';
import type { InstanceHandle } from '../runtime-driver.js';
import { makeTreeReadable } from './app-permissions.js';
import { killUntilEmpty, signalPids } from './cgroup-fs.js';
import type { Cgroups } from './cgroups.js';
import type { HandleStore } from './handle-store.js';
import type { HostTools } from './host-probe.js';
import { pidOf, type InstanceEngine } from './instance-engine.js';
import type { InstanceScratch } from './instance-scratch.js';
import { slotNet, type Subnet16 } from './instance-net.js';
import { createInstanceNetwork, destroyHostNetwork, prepareHostNetwork, removeInstanceNetwork, type HostNetworkConfig } from './net-namespace.js';
import { processStartTime, processTree } from './process-tree.js';
import { envArgs, sandboxArgv, systemRootArgs, WRAPPER_ENV, type SandboxTmp } from './sandbox-argv.js';
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
  /** Disk-backed `/tmp`s; null where the host cannot make them (then `/tmp` is a tmpfs). */
  scratch: InstanceScratch | null;
  /** The host's instance groups; null when no cgroup version can limit instances here. */
  cgroups: Cgroups | null;
  store: HandleStore;
}

/** What an isolated handle's `data` holds. */
interface IsolatedData {
  mode: 'isolated';
  /** Bubblewrap's monitor, in the instance's network namespace (see sandbox-argv.ts). */
  pid: number;
  slot: number;
  ns: string;
  veth: string;
  uid: number;
  /** Empty when the host had no usable cgroups: the instance then runs without limits. */
  cgroups: string[];
  parentPid: number;
  /** Start time of `pid` (see process-tree.ts): the instance's identity when it has no cgroups. */
  pidStart?: number | null;
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
  // With cgroups the group is authoritative: whatever the instance forked or daemonised is
  // there. Without, the sandbox's pid namespace is: everything in it descends from the monitor.
  const membersOf = (handle: InstanceHandle): number[] => {
    const d = dataOf(handle);
    return o.cgroups && d.cgroups.length > 0 ? o.cgroups.members(d.cgroups) : processTree(d.pid, d.pidStart ?? null);
  };

  return {
    mode: 'isolated',
    async prepare() {
      await prepareHostNetwork(net);
      await o.cgroups?.prepare();
      await mkdir(mountPoint, { recursive: true, mode: 0o755 });
      // A crashed agent's instances that still have handles keep their /tmp (they are adopted,
      // or removed through their handle); a filesystem without a handle is a leftover.
      const handles = await o.store.list();
      await o.scratch?.prepare(new Set(handles.filter((h) => h.data.mode === 'isolated').map((h) => h.id)));
    },
    async start(spec, onExit) {
      const slot = await allocateSlot();
      const addr = slotNet(o.label, o.subnet, slot);
      const uid = o.uidBase + slot;
      const cgroups = o.cgroups ? [...o.cgroups.instanceDirs(spec.id)] : [];
      try {
        // Releases are immutable: once made readable, a tree stays so for this process.
        if (!readable.has(spec.appDir)) {
          await makeTreeReadable(spec.appDir);
          readable.add(spec.appDir);
        }
        await o.cgroups?.create(cgroups, spec.resources);
        // Side by side (tens of ms each); both are settled before the cleanup below may run.
        const [network, scratchDir] = await Promise.allSettled([
          createInstanceNetwork(net, addr),
          o.scratch?.create(spec.id, { uid, sizeMb: spec.resources.disk_mb }),
        ]);
        if (network.status === 'rejected') throw network.reason;
        if (scratchDir.status === 'rejected') throw scratchDir.reason;
        const tmp: SandboxTmp = scratchDir.value !== undefined
          ? { kind: 'bind', hostDir: scratchDir.value }
          : { kind: 'tmpfs', bytes: o.bwrapTmpfsSize ? spec.resources.disk_mb * 1024 * 1024 : null };
        const env = { HOME: '/tmp', TMPDIR: '/tmp', ...spec.env, PORT: String(spec.port) };
        const argv = sandboxArgv({
          tools: o.tools, cgroupProcs: o.cgroups?.procsFiles(cgroups) ?? [], appDir: spec.appDir, mountPoint, ns: addr.ns, uid,
          tmp,
          hostname: spec.id.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63),
          runCommand: spec.runCommand, rootArgs,
        });
        const pid = await spawnDetached({
          argv, env: { ...WRAPPER_ENV }, logPath: spec.logPath, fd3Input: envArgs(env),
          onExit: (code, signal) => onExit(spec.id, code, signal),
        });
        if (o.cgroups) await enteredCgroups(pid, () => o.cgroups?.members(cgroups) ?? []);
        const data: IsolatedData = {
          mode: 'isolated', pid, slot, ns: addr.ns, veth: addr.veth, uid, cgroups, parentPid: process.pid, pidStart: processStartTime(pid),
        };
        return { id: spec.id, address: `${addr.instanceIp}:${spec.port}`, port: spec.port, startedAt: Date.now(), data: { ...data } };
      } catch (err) {
        await o.cgroups?.killAll(cgroups);
        await removeInstanceNetwork(net, addr);
        await o.cgroups?.remove(cgroups);
        await o.scratch?.remove(spec.id);
        reserved.delete(slot);
        throw err;
      }
    },
    isRunning(handle) {
      return membersOf(handle).length > 0;
    },
    members(handle) {
      // The monitor first: it is in the instance's network namespace from its start on, while
      // the cgroup lists members in no useful order.
      const pids = membersOf(handle);
      const pid = pidOf(handle);
      return pids.includes(pid) ? [pid, ...pids.filter((p) => p !== pid)] : pids;
    },
    async oomKilled(handle) {
      const { cgroups } = dataOf(handle);
      return o.cgroups !== null && cgroups.length > 0 && o.cgroups.oomKilled(cgroups);
    },
    terminate(handle) {
      // bwrap's monitor and its pid-1 reaper are spared: SIGTERM kills them outright (the
      // reaper's death SIGKILLs the whole sandbox), while the app deserves its grace period.
      // Once the app exits they follow by themselves, with its exit status.
      const pid = pidOf(handle);
      signalPids(membersOf(handle), 'SIGTERM', new Set([pid, ...childrenOf(pid)]));
    },
    async kill(handle) {
      const { cgroups } = dataOf(handle);
      if (!(await killUntilEmpty(() => membersOf(handle), 5000))) {
        throw new SlipwayError('internal_error', `instance ${handle.id} still has processes after SIGKILL`, { details: { cgroups } });
      }
    },
    async release(handle) {
      const d = dataOf(handle);
      await removeInstanceNetwork(net, d);
      if (d.cgroups.length > 0) await o.cgroups?.remove(d.cgroups);
      await o.scratch?.remove(handle.id);
      reserved.delete(d.slot);
    },
    async sweep() {
      for (const dirs of o.cgroups?.labelled() ?? []) {
        await o.cgroups?.killAll(dirs);
        await o.cgroups?.remove(dirs);
      }
      await destroyHostNetwork(net);
      await o.cgroups?.destroy();
      await o.scratch?.sweep();
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
  if (d.mode !== 'isolated' || typeof d.pid !== 'number' || typeof d.slot !== 'number' || typeof d.ns !== 'string' || typeof d.veth !== 'string' || !Array.isArray(d.cgroups)) {
    throw new SlipwayError('internal_error', `handle of ${handle.id} is not an isolated instance's`, { details: { data: handle.data } });
  }
  return d as IsolatedData;
}

/**
 * Waits until the new process has written itself into its cgroups (the wrapper's first act),
 * so that from the moment start() returns the cgroup alone answers "is it running?". A
 * process that dies before getting there ends the wait too.
 */
async function enteredCgroups(pid: number, members: () => number[]): Promise<void> {
  await waitFor(() => members().includes(pid) || !isProcessAlive(pid), {
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
