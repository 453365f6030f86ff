/**
 * The network side of a container instance. The engine starts it with `NetworkMode: none` (a
 * namespace of its own holding only `lo`); Slipway then names that namespace and joins it to
 * the host exactly as the local driver joins its instances' namespaces: a veth pair on a /30 of
 * the driver's subnet, no default route inside, under the same blackhole route and nftables
 * rules (see `../local/net-namespace.ts`). The engine itself never touches the host's network.
 */
import { statSync } from 'node:fs';
import { runCommand } from '../../util/child-process.js';
import { addInstanceLink, removeInstanceNetwork, type HostNetworkConfig } from '../local/net-namespace.js';
import type { SlotNet } from '../local/instance-net.js';
import { establishedConnections, namespaceListeningPorts } from '../local/proc-sockets.js';

const TIMEOUT = { timeoutMs: 15_000 };

// The namespace a path names, as (device, inode); null when the path is gone.
function namespaceId(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/**
 * Names the network namespace of the container whose init process is `pid` as `net.ns` and
 * joins it to the host. `stillRunning` must say whether the container still runs with that same
 * pid: asked after the namespace was named, it proves the pid was not reused by another process
 * in between (its namespace could be the host's). Returns false, having made nothing, when the
 * container ended first: an instance that already exited needs no network.
 */
export async function attachContainerNetwork(
  cfg: HostNetworkConfig,
  net: SlotNet,
  options: { pid: number; stillRunning: () => Promise<boolean> },
): Promise<boolean> {
  // What a crashed start in the same slot left.
  await removeInstanceNetwork(cfg, net);
  try {
    await runCommand([cfg.ip, 'netns', 'attach', net.ns, String(options.pid)], TIMEOUT);
  } catch (err) {
    // A process whose namespace can no longer be read has ended (gone, or a zombie), whatever
    // the engine still says: its exit reaches the engine's state a moment later (seen in CI with
    // a command that printed one line and exited while its network was being attached).
    if (namespaceId(`/proc/${options.pid}/ns/net`) !== null && (await options.stillRunning())) throw err;
    return false;
  }
  const attached = namespaceId(`/run/netns/${net.ns}`);
  if (!(await options.stillRunning()) || attached === null || attached === namespaceId('/proc/self/ns/net')) {
    await removeInstanceNetwork(cfg, net);
    return false;
  }
  await addInstanceLink(cfg, net);
  return true;
}

/**
 * `pid` when it is still a process inside the namespace named `ns`, else null: once the
 * container ended its pid may belong to anyone, whose sockets are not the instance's.
 */
function pidInNamespace(ns: string, pid: number): number | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const named = namespaceId(`/run/netns/${ns}`);
  return named !== null && named === namespaceId(`/proc/${pid}/ns/net`) ? pid : null;
}

/** Every TCP port listened on in the container's namespace (IPv4 and IPv6), sorted; none once it is gone. */
export function containerListeningPorts(ns: string, pid: number): number[] {
  const inside = pidInNamespace(ns, pid);
  return inside === null ? [] : namespaceListeningPorts(inside);
}

/** Established connections to `port` inside the container's namespace; 0 once it is gone. */
export function containerConnections(ns: string, pid: number, port: number): number {
  const inside = pidInNamespace(ns, pid);
  return inside === null ? 0 : establishedConnections(inside, port);
}
