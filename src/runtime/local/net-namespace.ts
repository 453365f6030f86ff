/**
 * The network side of an isolated instance: a named namespace per instance joined to the host
 * by a veth pair on its own /30, with no default route inside, plus the host-wide pieces that
 * make that safe: a blackhole route over the whole /16 (so no instance address is ever routed
 * out of the machine when an interface vanishes) and one nftables table that lets instances
 * answer the edge but start nothing themselves.
 */
import { existsSync } from 'node:fs';
import { runCommand } from '../../util/child-process.js';
import { ignoreMissing, safeReaddir } from '../../util/host-cleanup.js';
import { nsPattern, vethPattern, type SlotNet, type Subnet16 } from './instance-net.js';

/** Host-wide network facts of one platform. */
export interface HostNetworkConfig {
  label: string;
  subnet: Subnet16;
  ip: string;
  nft: string;
}

const TIMEOUT = { timeoutMs: 15_000 };

/** The nftables table of `label`. */
export function nftTableName(label: string): string {
  return `slipway_${label}`;
}

/**
 * Installs the blackhole route and (re)places the firewall table. Idempotent. The route comes
 * first: it must exist before any address of the range is assigned.
 */
export async function prepareHostNetwork(cfg: HostNetworkConfig): Promise<void> {
  await runCommand([cfg.ip, 'route', 'replace', 'blackhole', cfg.subnet.cidr], TIMEOUT);
  // Creating, deleting and re-creating the table in one transaction replaces old rules
  // atomically: there is no moment without them.
  await runCommand([cfg.nft, '-f', '-'], { ...TIMEOUT, input: nftRuleset(cfg.label) });
}

/**
 * Input: what arrives on our veths is accepted only as part of a connection the host opened
 * (the edge's requests), so an instance reaches no host service, whatever it binds to.
 * Forward: nothing crosses between veths or out of the host (no egress, no neighbours). The
 * `inet` family covers IPv6 too (veths get link-local addresses by themselves).
 */
function nftRuleset(label: string): string {
  const table = nftTableName(label);
  const veths = `"${label}v*"`;
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname ${veths} ct state established,related accept`,
    `    iifname ${veths} drop`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    iifname ${veths} drop`,
    `    oifname ${veths} drop`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/**
 * Creates the namespace and veth pair of one slot. The instance end is created directly inside
 * the namespace (so it never exists on the host) and only gets its /30: without a default
 * route the instance can talk to nothing but its host-side peer, which the firewall guards.
 * Leftovers of a crashed start in the same slot are removed first.
 */
export async function createInstanceNetwork(cfg: HostNetworkConfig, net: SlotNet): Promise<void> {
  await removeInstanceNetwork(cfg, net);
  await linkNamespace(cfg, net, [`netns add ${net.ns}`]);
}

/**
 * Joins the existing namespace `net.ns` (a container's, attached by name) to the host the same
 * way: the veth pair, the /30's two addresses, `lo` up. On failure removes the veth and the
 * namespace's name.
 */
export async function addInstanceLink(cfg: HostNetworkConfig, net: SlotNet): Promise<void> {
  await linkNamespace(cfg, net, []);
}

// One `ip -batch` on the host side (after `first`), one inside: two processes per instance.
async function linkNamespace(cfg: HostNetworkConfig, net: SlotNet, first: string[]): Promise<void> {
  const host = [
    ...first,
    `link add ${net.veth} type veth peer name eth0 netns ${net.ns}`,
    `addr add ${net.hostIp}/30 dev ${net.veth}`,
    `link set ${net.veth} up`,
  ];
  const inside = [`addr add ${net.instanceIp}/30 dev eth0`, 'link set eth0 up', 'link set lo up'];
  try {
    await runCommand([cfg.ip, '-batch', '-'], { ...TIMEOUT, input: `${host.join('\n')}\n` });
    await runCommand([cfg.ip, '-netns', net.ns, '-batch', '-'], { ...TIMEOUT, input: `${inside.join('\n')}\n` });
  } catch (err) {
    await removeInstanceNetwork(cfg, net);
    throw err;
  }
}

/**
 * Deletes the host veth (which takes its peer along) and the namespace. The veth goes first
 * and explicitly: a deleted namespace's interfaces disappear only later, asynchronously.
 * Idempotent.
 */
export async function removeInstanceNetwork(cfg: HostNetworkConfig, net: Pick<SlotNet, 'ns' | 'veth'>): Promise<void> {
  if (net.veth !== '' && existsSync(`/sys/class/net/${net.veth}`)) {
    await ignoreMissing(runCommand([cfg.ip, 'link', 'del', net.veth], TIMEOUT));
  }
  if (net.ns !== '' && existsSync(`/run/netns/${net.ns}`)) {
    await ignoreMissing(runCommand([cfg.ip, 'netns', 'del', net.ns], TIMEOUT));
  }
}

/**
 * Removes every namespace and veth named with `label`, then the firewall table and the
 * blackhole route. Only for a full shutdown: other platforms' objects are left alone.
 */
export async function destroyHostNetwork(cfg: HostNetworkConfig): Promise<void> {
  const vethRe = vethPattern(cfg.label);
  const nsRe = nsPattern(cfg.label);
  for (const veth of safeReaddir('/sys/class/net').filter((n) => vethRe.test(n))) {
    await removeInstanceNetwork(cfg, { veth, ns: '' });
  }
  for (const ns of safeReaddir('/run/netns').filter((n) => nsRe.test(n))) {
    await removeInstanceNetwork(cfg, { veth: '', ns });
  }
  await ignoreMissing(runCommand([cfg.nft, 'delete', 'table', 'inet', nftTableName(cfg.label)], TIMEOUT));
  await ignoreMissing(runCommand([cfg.ip, 'route', 'del', 'blackhole', cfg.subnet.cidr], TIMEOUT));
}
