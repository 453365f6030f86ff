/**
 * The embedded runtime driver: instances run on this host. As root with bubblewrap, nftables,
 * iproute2 and util-linux, each instance is sandboxed (own uid, network namespace, read-only
 * root), with limits when cgroup v1 or a delegatable v2 is there and without them (said loudly)
 * when not. Not root, or with `isolation: 'none'`, instances are plain child processes on
 * loopback ports. As root without the tools, instances are refused (`isolation_unavailable`)
 * unless `isolation: 'none'` says plain root processes are wanted: an app never runs as root
 * by accident. Which one is decided once, here, and published as capability flags.
 */
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { waitFor } from '../../util/wait-for.js';
import type { InstanceExit, InstanceHandle, RuntimeCapabilities, RuntimeDriver } from '../runtime-driver.js';
import { assertInstanceId, createHandleStore } from './handle-store.js';
import { createCgroupsV1 } from './cgroup-v1.js';
import { createCgroupsV2 } from './cgroup-v2.js';
import type { Cgroups } from './cgroups.js';
import { probeIsolation, type IsolationProbe } from './host-probe.js';
import type { InstanceEngine } from './instance-engine.js';
import { establishedConnections, listeningPorts } from './proc-sockets.js';
import { createInstanceScratch, probeScratch, type ScratchProbe } from './instance-scratch.js';
import { assertLabel, parseSubnet16, SLOTS_PER_SUBNET } from './instance-net.js';
import { createIsolatedEngine } from './isolated-engine.js';
import { createPlainEngine } from './plain-engine.js';

/** Options of {@link createLocalDriver}. */
export interface LocalDriverOptions {
  /** Where handles are persisted (`<id>.json`), so a restarted agent re-adopts its instances. */
  stateDir: string;
  /** First uid of instance users (slot n runs as `uidBase + n`); undefined when not root. */
  uidBase?: number;
  /** IPv4 /16 the instances' /30s are carved from (default `10.213.0.0/16`). */
  subnet?: string;
  /**
   * Unique per platform on a host (3-8 of [a-z0-9]); names the namespaces (`<label>-<n>`),
   * veths (`<label>v<n>`), the nft table (`slipway_<label>`), the cgroups
   * (`/sys/fs/cgroup/<ctrl>/slipway/<label>/<id>`) and the `/tmp` filesystems
   * (`<stateDir>/scratch/<label>-<id>.ext4`, mounted at `/run/slipway/<label>/tmp/<id>`).
   * Cleanup touches only what carries it.
   */
  label: string;
  /** `auto` isolates when the host allows it; `none` always runs plain processes. */
  isolation?: 'auto' | 'none';
  /** Most instances at once in isolated mode (uids and /30s reserved; default 1000). */
  maxInstances?: number;
  /** Where the cgroup filesystem is (default `/sys/fs/cgroup`; SLIPWAY_CGROUP_ROOT). */
  cgroupRoot?: string;
  /** What the host offers; default: {@link probeIsolation} of this host (a test may describe another). */
  probe?: IsolationProbe;
  /** Whether disk-backed `/tmp`s can be made; default: {@link probeScratch} of this host. */
  scratchProbe?: ScratchProbe;
}

/** The local driver plus why it is not isolated, when it is not. */
export interface LocalDriver extends RuntimeDriver {
  /** Null when isolated; otherwise the reason for the plain-process fallback. */
  readonly fallbackReason: string | null;
  /**
   * Set when every start is refused with `isolation_unavailable`: Slipway is root, the sandbox
   * tools are missing and isolation was not explicitly set to none. Null otherwise.
   */
  readonly refusal: string | null;
  /** Which cgroup version limits isolated instances; `none` when they run without limits. */
  readonly cgroupVersion: Cgroups['version'] | 'none';
  /** What works less well than it should on this host, for the agent's start line. */
  readonly warnings: readonly string[];
}

const ALL_OFF: Omit<RuntimeCapabilities, 'resourceLimitsReason'> = {
  isolatedNetwork: false, sandboxedFilesystem: false, resourceLimits: false, ownUser: false, containerImages: false,
};

/**
 * Creates the local driver. In the plain-process fallback the spec's `port` is not used: the
 * driver picks a free loopback port, sets `PORT` to it and returns it in the address.
 */
export function createLocalDriver(options: LocalDriverOptions): LocalDriver {
  assertLabel(options.label);
  const subnet = parseSubnet16(options.subnet ?? '10.213.0.0/16');
  const store = createHandleStore(options.stateDir);
  const probe = options.probe ?? probeIsolation({ cgroupRoot: options.cgroupRoot });
  const cgroups = cgroupsOf(probe, options.label);
  const maxInstances = Math.min(options.maxInstances ?? 1000, SLOTS_PER_SUBNET);
  const scratchProbe = probe.available ? (options.scratchProbe ?? probeScratch()) : null;
  const scratch = scratchProbe?.available
    ? createInstanceScratch({ label: options.label, dir: join(options.stateDir, 'scratch'), tools: scratchProbe.tools })
    : null;
  // Built whenever the host allows it, even with isolation 'none': handles left by an earlier
  // isolated run must still be stoppable and cleaned up.
  const isolated =
    probe.available && options.uidBase !== undefined
      ? createIsolatedEngine({
          label: options.label, subnet, uidBase: options.uidBase, maxInstances, tools: probe.tools,
          bwrapTmpfsSize: probe.bwrapTmpfsSize, cgroups, scratch, store,
        })
      : null;
  const plain = createPlainEngine();
  const fallbackReason =
    options.isolation === 'none' ? 'isolation is set to none'
    : !probe.available ? probe.reason
    : options.uidBase === undefined ? 'no uid range for instance users (uidBase)'
    : null;
  const active: InstanceEngine = fallbackReason === null && isolated ? isolated : plain;
  const warnings =
    active === isolated && scratchProbe?.available === false
      ? [`each instance's /tmp is a tmpfs counted against its memory, not disk_mb of disk (${scratchProbe.reason})`]
      : [];
  // Only root can hand an instance its own uid; root without the sandbox would run apps as
  // root, so that needs the operator's explicit `none`.
  const root = probe.available || probe.root;
  const refusal = active === plain && root && options.isolation !== 'none'
    ? `Slipway runs as root but cannot sandbox instances (${fallbackReason}); refusing to run apps as root. Install what is missing, or set SLIPWAY_RUNTIME_ISOLATION=none to run them as plain root processes`
    : null;
  const exits = new Map<string, { code: number | null; signal: NodeJS.Signals | null }>();
  // Ids of the children this object spawned: only for those can an exit code ever arrive.
  const children = new Set<string>();
  let prepared: Promise<void> | null = null;

  const engineOf = (handle: InstanceHandle): InstanceEngine => {
    if (handle.data.mode === 'process') return plain;
    if (handle.data.mode === 'isolated' && isolated) return isolated;
    throw new SlipwayError('unavailable', `instance ${handle.id} was started isolated, which this host no longer supports`);
  };
  const prepare = (): Promise<void> => {
    // Memoised so start() can insist on it (the blackhole route must precede any address)
    // without repeating it; a failure is retried by the next call.
    prepared ??= active.prepare().catch((err: unknown) => {
      prepared = null;
      throw err;
    });
    return prepared;
  };
  const remove = async (handle: InstanceHandle): Promise<void> => {
    const engine = engineOf(handle);
    await engine.kill(handle);
    await engine.release(handle);
    await store.delete(handle.id);
    exits.delete(handle.id);
    children.delete(handle.id);
  };
  const stop = async (handle: InstanceHandle, graceMs: number): Promise<void> => {
    const engine = engineOf(handle);
    if (engine.isRunning(handle)) {
      engine.terminate(handle);
      await waitFor(() => !engine.isRunning(handle), { timeoutMs: Math.max(0, graceMs), intervalMs: 25 }).catch(() => undefined);
    }
    await remove(handle);
  };

  return {
    name: 'local',
    capabilities: active === isolated
      ? {
          isolatedNetwork: true, sandboxedFilesystem: true, resourceLimits: cgroups !== null, ownUser: true, containerImages: false,
          resourceLimitsReason: probe.available && probe.cgroup.version === 'none' ? probe.cgroup.reason : null,
        }
      : { ...ALL_OFF, resourceLimitsReason: `instances run as plain processes (${fallbackReason})` },
    fallbackReason,
    refusal,
    warnings,
    cgroupVersion: active === isolated && cgroups ? cgroups.version : 'none',
    prepare,
    async start(spec) {
      assertInstanceId(spec.id);
      if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
        throw new SlipwayError('internal_error', `instance port must be 1-65535, not ${spec.port}`);
      }
      if (refusal !== null) throw new SlipwayError('isolation_unavailable', refusal);
      const { release, ...rest } = spec;
      if (release.kind !== 'tree') {
        throw new SlipwayError('unavailable', `the local driver runs release trees, not ${release.kind}s (no container engine here)`);
      }
      await prepare();
      const handle = await active.start({ ...rest, appDir: release.appDir }, (id, code, signal) => exits.set(id, { code, signal }));
      children.add(handle.id);
      try {
        await store.save(handle);
      } catch (err) {
        await remove(handle);
        throw err;
      }
      return handle;
    },
    // Synchronous underneath (a cgroup file or a signal 0), so the promise costs next to nothing.
    isRunning: async (handle) => engineOf(handle).isRunning(handle),
    listeningPorts: async (handle) => listeningPorts(engineOf(handle).members(handle)),
    async connectionCount(handle) {
      const [first] = engineOf(handle).members(handle);
      return first === undefined ? 0 : establishedConnections(first, handle.port);
    },
    async exitInfo(handle): Promise<InstanceExit> {
      // The cgroup empties a moment before Node reaps our child and emits its exit.
      if (children.has(handle.id)) {
        await waitFor(() => exits.has(handle.id), { timeoutMs: 1000, intervalMs: 10 }).catch(() => undefined);
      }
      const exit = exits.get(handle.id);
      return { oomKilled: await engineOf(handle).oomKilled(handle), exitCode: exit?.code ?? null, signal: exit?.signal ?? null };
    },
    stop,
    remove,
    list: () => store.list(),
    async destroyAll() {
      const failures: { id: string; error: string }[] = [];
      await Promise.all(
        (await store.list()).map((h) => stop(h, 2000).catch((err: Error) => failures.push({ id: h.id, error: err.message }))),
      );
      if (isolated) await isolated.sweep();
      prepared = null;
      if (failures.length > 0) {
        throw new SlipwayError('internal_error', `could not stop ${failures.length} instance(s)`, { details: { failures } });
      }
    },
  };
}

/** The cgroups the probe found usable, or null (instances then run without limits). */
function cgroupsOf(probe: IsolationProbe, label: string): Cgroups | null {
  if (!probe.available) return null;
  switch (probe.cgroup.version) {
    case 'v1': return createCgroupsV1(probe.cgroup.root, label);
    case 'v2': return createCgroupsV2(probe.cgroup.root, label);
    case 'none': return null;
    default: {
      const never: never = probe.cgroup;
      throw new SlipwayError('internal_error', `unknown cgroup version ${JSON.stringify(never)}`);
    }
  }
}
