/**
 * The build network on the host: a namespace per running build with NAT egress to the
 * internet (package registries) and no route to the host, Slipway's ports, instances, other
 * builds, private ranges or link-local metadata. See `build-net-rules.ts` for the rules.
 *
 * IPv4 forwarding is switched on only where it is needed, per interface: each build veth and
 * the default route's interface (the replies come in there). The latter is shared with other
 * platforms on the host, so it is claimed and released (`forwarding-claim.ts`): the last
 * platform to release it, at shutdown or at its next start after a crash, restores its value.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { SlipwayError } from '../core/errors.js';
import { runCommand } from '../util/child-process.js';
import { ignoreMissing, safeReaddir } from '../util/host-cleanup.js';
import {
  buildNamePattern, buildRuleset, buildSlotNet, buildTableName, chooseBuildResolvers, RESOLVED_UPSTREAM_CONF, type BuildSlotNet, type BuildSubnet,
} from './build-net-rules.js';
import { claimForwarding, forwardedBefore, releaseForwarding } from './forwarding-claim.js';

/** One platform's build network settings, fixed at start-up. */
export interface BuildNetworkConfig {
  label: string;
  subnet: BuildSubnet;
  instanceSubnet: string;
  /** Absolute paths of `ip` and `nft`. */
  ip: string;
  nft: string;
  /** The resolv.conf builds would read (default `/etc/resolv.conf`). */
  resolvConf?: string;
}

/** What {@link prepareBuildNetwork} found and set up. */
export interface PreparedBuildNetwork {
  /** The default route's interface; null when the host has no default route (no egress). */
  egress: string | null;
  resolvers: string[];
  /** A resolv.conf for the sandbox when the host's names only loopback resolvers (see `chooseBuildResolvers`). */
  resolvConf?: string;
  /** Set when builds have no resolver they can reach. */
  warning: string | null;
}

const TIMEOUT = { timeoutMs: 15_000 };

/**
 * Removes whatever an earlier run of this platform left (crash cleanup), then installs the
 * blackhole route over the whole build subnet, before any of its addresses exists, so no
 * build address is ever routed out of the machine; then the firewall table, then forwarding
 * on the egress interface.
 */
export async function prepareBuildNetwork(cfg: BuildNetworkConfig): Promise<PreparedBuildNetwork> {
  const hostConf = await readFile(cfg.resolvConf ?? '/etc/resolv.conf', 'utf8').catch(() => '');
  const { resolvers, resolvConf } = chooseBuildResolvers(hostConf, await readFile(RESOLVED_UPSTREAM_CONF, 'utf8').catch(() => null));
  // The blackhole route would cut the host off its own resolver.
  const swallowed = resolvers.find((r) => r.startsWith(`${cfg.subnet.a}.${cfg.subnet.b}.`));
  if (swallowed) throw new SlipwayError('invalid_request', `SLIPWAY_BUILD_SUBNET ${cfg.subnet.cidr} holds the host's DNS resolver ${swallowed}; pick another range`);
  await destroyBuildNetwork(cfg);
  await runCommand([cfg.ip, 'route', 'replace', 'blackhole', cfg.subnet.cidr], TIMEOUT);
  const egress = await defaultRouteInterface(cfg.ip);
  const warning = resolvers.length === 0
    ? `${cfg.resolvConf ?? '/etc/resolv.conf'} names no resolver builds can reach (loopback ones are not): builds will have no DNS`
    : null;
  // Without a default route, the rules still hold and nothing leaves: a name that matches no interface.
  // A host that did not route before must not start routing for its LAN now that forwarding is
  // on for the egress interface: only replies to builds may come in through it.
  const inboundNew = egress !== null && !(await forwardedBefore(egress));
  await runCommand([cfg.nft, '-f', '-'], {
    ...TIMEOUT,
    input: buildRuleset({ label: cfg.label, subnet: cfg.subnet, instanceSubnet: cfg.instanceSubnet, egress: egress ?? '-none-', resolvers, dropInboundNew: inboundNew }),
  });
  if (egress) await claimForwarding(egress, cfg.label);
  return { egress, resolvers, ...(resolvConf ? { resolvConf } : {}), warning };
}

/**
 * Creates the namespace and veth pair of one build slot: the build end is created inside the
 * namespace, gets the /30's `.2` and a default route via the host end. Leftovers of the same
 * slot are removed first. Returns the slot's names; the namespace is `/run/netns/<name>`.
 */
export async function createBuildSlotNetwork(cfg: BuildNetworkConfig, slot: number): Promise<BuildSlotNet> {
  const net = buildSlotNet(cfg.label, cfg.subnet, slot);
  await removeBuildSlotNetwork(cfg, net.name);
  const host = [
    `netns add ${net.name}`,
    `link add ${net.name} type veth peer name eth0 netns ${net.name}`,
    `addr add ${net.hostIp}/30 dev ${net.name}`,
    `link set ${net.name} up`,
  ];
  const inside = [`addr add ${net.buildIp}/30 dev eth0`, 'link set eth0 up', 'link set lo up', `route add default via ${net.hostIp}`];
  try {
    await runCommand([cfg.ip, '-batch', '-'], { ...TIMEOUT, input: `${host.join('\n')}\n` });
    await setForwarding(net.name, '1');
    await runCommand([cfg.ip, '-netns', net.name, '-batch', '-'], { ...TIMEOUT, input: `${inside.join('\n')}\n` });
  } catch (err) {
    await removeBuildSlotNetwork(cfg, net.name);
    throw err;
  }
  return net;
}

/** Deletes a slot's veth (its peer goes with it) and namespace. Idempotent. */
export async function removeBuildSlotNetwork(cfg: BuildNetworkConfig, name: string): Promise<void> {
  if (existsSync(`/sys/class/net/${name}`)) await ignoreMissing(runCommand([cfg.ip, 'link', 'del', name], TIMEOUT));
  if (existsSync(`/run/netns/${name}`)) await ignoreMissing(runCommand([cfg.ip, 'netns', 'del', name], TIMEOUT));
}

/**
 * Removes every build namespace and veth of this platform, its firewall table and blackhole
 * route, and releases its claim on the egress interface's forwarding. Other platforms' objects are left
 * alone. Idempotent: it is also the crash cleanup at start.
 */
export async function destroyBuildNetwork(cfg: BuildNetworkConfig): Promise<void> {
  const own = buildNamePattern(cfg.label);
  const names = new Set([...safeReaddir('/sys/class/net'), ...safeReaddir('/run/netns')].filter((n) => own.test(n)));
  for (const name of names) await removeBuildSlotNetwork(cfg, name);
  await ignoreMissing(runCommand([cfg.nft, 'delete', 'table', 'inet', buildTableName(cfg.label)], TIMEOUT));
  await ignoreMissing(runCommand([cfg.ip, 'route', 'del', 'blackhole', cfg.subnet.cidr], TIMEOUT));
  await releaseForwarding(cfg.label);
}

async function defaultRouteInterface(ip: string): Promise<string | null> {
  const { stdout } = await runCommand([ip, '-4', '-j', 'route', 'show', 'default'], TIMEOUT);
  const routes = JSON.parse(stdout || '[]') as Array<{ dev?: string }>;
  return routes.find((r) => r.dev)?.dev ?? null;
}

async function setForwarding(iface: string, value: '0' | '1'): Promise<void> {
  await writeFile(`/proc/sys/net/ipv4/conf/${iface}/forwarding`, value);
}


/** The per-build half of the build network, as the build worker uses it. */
export interface BuildNetworkSlots {
  /** Creates build slot `slot`'s namespace afresh; returns its name (`/run/netns/<name>`). */
  create(slot: number): Promise<string>;
  /** Removes it again. Idempotent. */
  remove(slot: number): Promise<void>;
}

/** {@link BuildNetworkSlots} over the host, for a network made ready by {@link prepareBuildNetwork}. */
export function buildNetworkSlots(cfg: BuildNetworkConfig): BuildNetworkSlots {
  return {
    create: async (slot) => (await createBuildSlotNetwork(cfg, slot)).name,
    remove: (slot) => removeBuildSlotNetwork(cfg, buildSlotNet(cfg.label, cfg.subnet, slot).name),
  };
}
