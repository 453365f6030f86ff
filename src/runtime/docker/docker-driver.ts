/**
 * The docker runtime driver: each instance is a container on a Slipway-owned Docker engine
 * (see `engine.ts`), from an image release, with the same limits, user rules and network
 * isolation as the local driver's sandbox. The engine's own networking is off; the container's
 * namespace is joined to the host by a veth on a /30 of this driver's subnet, under the same
 * blackhole route and nftables rules as the local driver's instances (`container-net.ts`).
 * The engine is the record of what exists: each container carries its handle's facts as labels
 * (`container-handles.ts`), so a restarted agent lists the same handles; whether it runs comes
 * from the engine's event stream (`container-watch.ts`); its output is copied into `logPath`
 * (`log-copiers.ts`).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { waitFor } from '../../util/wait-for.js';
import type { InstanceExit, InstanceHandle, RuntimeDriver } from '../runtime-driver.js';
import { assertInstanceId } from '../local/handle-store.js';
import { assertLabel, nsPattern, parseSubnet16, slotNet, SLOTS_PER_SUBNET, vethPattern, type SlotNet } from '../local/instance-net.js';
import { safeReaddir } from '../../util/host-cleanup.js';
import { destroyHostNetwork, prepareHostNetwork, removeInstanceNetwork, type HostNetworkConfig } from '../local/net-namespace.js';
import type { EngineApi } from './engine-api.js';
import { attachContainerNetwork, containerConnections, containerListeningPorts } from './container-net.js';
import { dockerData, handleLabels, listDriverContainers, makeHandle, type DockerHandleData } from './container-handles.js';
import { watchContainers, type ContainerWatch } from './container-watch.js';
import { inspectContainer, killContainer, removeContainer, startContainer, stopContainer } from './containers.js';
import { createLogCopiers } from './log-copiers.js';

/** Options of {@link createDockerDriver}. */
export interface DockerDriverOptions {
  /** The engine (a Slipway-owned one: see `engine.ts`). */
  api: EngineApi;
  /** The driver's own files (log-copy cursors); the engine keeps everything else. */
  stateDir: string;
  /**
   * 3-9 of [a-z0-9], unique per platform on a host and unlike the local driver's (the
   * configuration's runtime label plus `c`): names the namespaces (`<label>-<slot>`), veths
   * (`<label>v<slot>`), the nft table (`slipway_<label>`) and the containers' driver label.
   * Cleanup touches only what carries it.
   */
  label: string;
  /** IPv4 /16 the instances' /30s are carved from (SLIPWAY_CONTAINER_SUBNET). */
  subnet: string;
  /** The `ip` binary (default `ip`). */
  ip?: string;
  /** The `nft` binary (default `nft`). */
  nft?: string;
  /**
   * The folder the agent keeps instance logs in (`<logDir>/<id>.log`): a container whose
   * labels name another log file is not adopted. Without it, any absolute `…/<id>.log` is.
   */
  logDir?: string;
  /** Says what {@link RuntimeDriver.list} skipped, and why (default: console.warn). */
  warn?: (line: string) => void;
}

/** The docker driver, plus letting go of the engine without stopping any instance. */
export interface DockerDriver extends RuntimeDriver {
  /**
   * Stops following the engine (its event stream, the log copiers); instances keep running and
   * a later driver re-adopts them. The engine's connection pool can only close after this.
   */
  close(): void;
}

// How long an ended instance's output may take to reach logPath before it is called ended.
const DRAIN_MS = 2_000;
// The exit code of a container whose init was killed by SIGKILL (128 + 9), and how long after
// such an exit the engine's `oom` event is still waited for.
const SIGKILL_EXIT = 137;
const OOM_EVENT_MS = 1_000;

/** Creates the docker driver; nothing touches the host or the engine before the first call. */
export function createDockerDriver(options: DockerDriverOptions): DockerDriver {
  assertLabel(options.label);
  const { api, label } = options;
  const subnet = parseSubnet16(options.subnet);
  const netCfg: HostNetworkConfig = { label, subnet, ip: options.ip ?? 'ip', nft: options.nft ?? 'nft' };
  const copiers = createLogCopiers(api, join(options.stateDir, 'log-cursors'));
  const warn = options.warn ?? ((line: string) => console.warn(line));
  const listContainers = () => listDriverContainers(api, label, { logDir: options.logDir });
  // Slots this object holds or saw in use; seeded from the engine on first need.
  const slots = new Set<number>();
  let seeded: Promise<void> | null = null;
  let prepared: Promise<void> | null = null;
  let watching: Promise<ContainerWatch> | null = null;

  // Memoised; a failure is retried by the next call.
  const once = <T>(get: () => Promise<T> | null, set: (p: Promise<T> | null) => void, make: () => Promise<T>): Promise<T> => {
    const existing = get();
    if (existing) return existing;
    const p = make().catch((err: unknown) => {
      set(null);
      throw err;
    });
    set(p);
    return p;
  };
  const prepare = (): Promise<void> => once(() => prepared, (p) => { prepared = p; }, () => prepareHostNetwork(netCfg));
  const watch = (): Promise<ContainerWatch> => once(() => watching, (p) => { watching = p; }, () => watchContainers(api));

  async function allocateSlot(): Promise<number> {
    await once(() => seeded, (p) => { seeded = p; }, async () => {
      for (const c of await listContainers()) if (c.facts) slots.add(c.facts.slot);
      await removeOrphanNetworks();
    });
    // Synchronous from here, so instances started at the same time never share a slot. A slot
    // whose namespace or veth still exists (a crashed start) is skipped too.
    for (let slot = 0; slot < SLOTS_PER_SUBNET; slot++) {
      if (slots.has(slot)) continue;
      const net = slotNet(label, subnet, slot);
      if (existsSync(`/sys/class/net/${net.veth}`) || existsSync(`/run/netns/${net.ns}`)) continue;
      slots.add(slot);
      return slot;
    }
    throw new SlipwayError('unavailable', `every instance address of ${subnet.cidr} is in use`);
  }

  // What a start that crashed between naming a container's namespace and creating (or after
  // removing) its container left: a namespace or veth of this label whose slot no container
  // holds. Only at seeding, before this object has started anything of its own.
  async function removeOrphanNetworks(): Promise<void> {
    const slotOf = (name: string, sep: string): number => Number(name.slice(label.length + sep.length));
    const orphans = new Set<number>();
    for (const ns of safeReaddir('/run/netns').filter((n) => nsPattern(label).test(n))) orphans.add(slotOf(ns, '-'));
    for (const veth of safeReaddir('/sys/class/net').filter((n) => vethPattern(label).test(n))) orphans.add(slotOf(veth, 'v'));
    for (const slot of orphans) {
      if (slots.has(slot) || slot >= SLOTS_PER_SUBNET) continue;
      await removeInstanceNetwork(netCfg, slotNet(label, subnet, slot)).catch((err: Error) => warn(`docker driver: could not remove the leftover network of slot ${slot}: ${err.message}`));
    }
  }

  const dataOf = (handle: InstanceHandle): DockerHandleData => {
    const data = dockerData(handle);
    if (!data) throw new SlipwayError('internal_error', `instance ${handle.id} was not started by the docker driver`);
    return data;
  };
  const netOf = (data: DockerHandleData): SlotNet => slotNet(label, subnet, data.slot);

  async function remove(handle: InstanceHandle): Promise<void> {
    const data = dataOf(handle);
    // Killed first and removed only once its output is copied: removing takes the output along.
    // The cursor goes last: a crash before it leaves a cursor of a removed container (the next
    // start of that id forgets it), never a container whose output would be copied again.
    await killContainer(api, data.containerId);
    await copiers.drain(handle.id, DRAIN_MS);
    await removeContainer(api, data.containerId);
    await copiers.forget(handle.id);
    await removeInstanceNetwork(netCfg, netOf(data));
    slots.delete(data.slot);
  }

  async function stop(handle: InstanceHandle, graceMs: number): Promise<void> {
    await stopContainer(api, dataOf(handle).containerId, Math.max(0, graceMs));
    await remove(handle);
  }

  async function list(): Promise<InstanceHandle[]> {
    const handles: InstanceHandle[] = [];
    for (const c of await listContainers()) {
      if (!c.facts) {
        // Not a handle this driver made (a forged or half-made container of its label): one bad
        // container must not hide every other instance, nor be trusted with a slot or a log file.
        warn(`docker driver: container ${c.containerId.slice(0, 12)} carries this driver's label but not a valid instance's labels; not adopted`);
        continue;
      }
      const state = c.running ? await inspectContainer(api, c.containerId) : null;
      const net = slotNet(label, subnet, c.facts.slot);
      const pid = state?.running && existsSync(`/run/netns/${net.ns}`) ? state.pid : 0;
      handles.push(makeHandle(c.facts, { containerId: c.containerId, pid, instanceIp: net.instanceIp }));
      slots.add(c.facts.slot);
      copiers.ensure(c.facts.id, c.containerId, c.facts.logPath);
    }
    return handles.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  function close(): void {
    copiers.stopAll();
    const w = watching;
    watching = null;
    void w?.then((x) => x.close(), () => undefined);
  }

  return {
    name: 'docker',
    capabilities: {
      isolatedNetwork: true, sandboxedFilesystem: true, resourceLimits: true, resourceLimitsReason: null, ownUser: true, containerImages: true,
    },
    prepare,
    async start(spec) {
      assertInstanceId(spec.id);
      if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
        throw new SlipwayError('internal_error', `instance port must be 1-65535, not ${spec.port}`);
      }
      if (spec.release.kind !== 'image') {
        throw new SlipwayError('unavailable', 'the docker driver runs image releases only; this release is a file tree', {
          details: { releaseKind: spec.release.kind },
        });
      }
      await prepare();
      await watch();
      const slot = await allocateSlot();
      const net = slotNet(label, subnet, slot);
      const facts = { id: spec.id, slot, port: spec.port, startedAt: Date.now(), logPath: spec.logPath };
      let containerId: string | null = null;
      try {
        // A cursor left by an earlier instance of the same id would skip this one's first lines.
        await copiers.forget(spec.id);
        containerId = (await startContainer(api, spec, { labels: handleLabels(label, facts) })).containerId;
        const id = containerId;
        copiers.ensure(spec.id, id, spec.logPath);
        const state = await inspectContainer(api, id);
        let pid = 0;
        if (state?.running && state.pid > 0) {
          const stillRunning = async (): Promise<boolean> => {
            const again = await inspectContainer(api, id);
            return again?.running === true && again.pid === state.pid;
          };
          if (await attachContainerNetwork(netCfg, net, { pid: state.pid, stillRunning })) pid = state.pid;
        }
        return makeHandle(facts, { containerId: id, pid, instanceIp: net.instanceIp });
      } catch (err) {
        // Best effort: the start's own error is the one to report. Whatever stays behind is
        // skipped by later starts (a slot with a namespace or veth is not reused) and swept by
        // destroyAll; a container left over is listed and can be removed.
        // The container first: its copier ends with its output, so forget does not wait on a
        // container that still runs.
        if (containerId !== null) await removeContainer(api, containerId).catch(() => undefined);
        await copiers.forget(spec.id).catch(() => undefined);
        await removeInstanceNetwork(netCfg, net).catch(() => undefined);
        slots.delete(slot);
        throw err;
      }
    },
    async isRunning(handle) {
      const data = dataOf(handle);
      // The event-fed view; only a container it has not heard of yet (or any more) costs a request.
      const known = await (await watch()).state(data.containerId);
      const running = known ?? (await inspectContainer(api, data.containerId))?.running ?? false;
      if (!running) await copiers.drain(handle.id, DRAIN_MS);
      return running;
    },
    listeningPorts: async (handle) => {
      const data = dataOf(handle);
      return containerListeningPorts(netOf(data).ns, data.pid);
    },
    connectionCount: async (handle) => {
      const data = dataOf(handle);
      return containerConnections(netOf(data).ns, data.pid, handle.port);
    },
    async exitInfo(handle): Promise<InstanceExit> {
      const { containerId } = dataOf(handle);
      const state = await inspectContainer(api, containerId);
      if (!state) return { oomKilled: false, exitCode: null, signal: null };
      if (state.running || state.exit.oomKilled) return state.exit;
      // The engine's own flag can miss an OOM kill whose notice came after the exit (see
      // `sawOomKill`); its event then follows the `die` by a moment. Waited for only after a
      // SIGKILL's exit code, which is how an OOM-killed app ends.
      const w = await watch();
      const oomKilled = state.exit.exitCode === SIGKILL_EXIT
        ? await waitFor(() => w.sawOomKill(containerId), { timeoutMs: OOM_EVENT_MS, intervalMs: 20 }).catch(() => false)
        : w.sawOomKill(containerId);
      return { ...state.exit, oomKilled };
    },
    stop,
    remove,
    list,
    async destroyAll() {
      const failures: { id: string; error: string }[] = [];
      const containers = await listContainers();
      await Promise.all(containers.map(async (c) => {
        const handle = c.facts ? makeHandle(c.facts, { containerId: c.containerId, pid: 0, instanceIp: '' }) : null;
        try {
          if (handle) await stop(handle, 2000);
          else await removeContainer(api, c.containerId);
        } catch (err) {
          failures.push({ id: c.facts?.id ?? c.containerId, error: (err as Error).message });
        }
      }));
      close();
      await destroyHostNetwork(netCfg);
      await rm(join(options.stateDir, 'log-cursors'), { recursive: true, force: true });
      slots.clear();
      seeded = null;
      prepared = null;
      if (failures.length > 0) {
        throw new SlipwayError('internal_error', `could not stop ${failures.length} container instance(s)`, { details: { failures } });
      }
    },
    close,
  };
}
