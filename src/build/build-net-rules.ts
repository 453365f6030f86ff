/**
 * Names, addresses and firewall rules of the build network: pure functions, so what cleanup
 * matches and what the firewall allows live in one place and are unit-tested.
 *
 * Each build slot gets a named network namespace joined to the host by a veth pair on its own
 * /30 of the platform's build subnet (an IPv4 /16, distinct from the instance subnet). The
 * names are `<label>-b<slot>` for both: the `-` keeps them apart from the instance driver's
 * `<label>-<n>` / `<label>v<n>` and from any other platform's names (labels are [a-z0-9]).
 */
import { SlipwayError } from '../core/errors.js';

/** Ranges no build may reach besides the public internet's: RFC 1918, CGNAT, link-local (metadata), loopback, multicast and reserved. */
export const BLOCKED_RANGES = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/4', '240.0.0.0/4',
] as const;

/** The parsed `a.b.0.0/16` the builds' /30s are carved from. */
export interface BuildSubnet {
  a: number;
  b: number;
  cidr: string;
}

/** What one build slot is called and addressed as. */
export interface BuildSlotNet {
  /** Named namespace and host-side veth (`<label>-b<slot>`, at most 15 characters). */
  name: string;
  /** Host side of the /30 (`.1`): the build's gateway. */
  hostIp: string;
  /** Build side of the /30 (`.2`). */
  buildIp: string;
}

/** Everything the firewall table of one platform's builds depends on. */
export interface BuildRulesInput {
  label: string;
  subnet: BuildSubnet;
  /** The instance subnet: never reachable from a build, even if it is not private. */
  instanceSubnet: string;
  /** The interface of the host's default route: the only way out. */
  egress: string;
  /** DNS servers builds may query (port 53 only), though they sit in a blocked range. */
  resolvers: readonly string[];
  /**
   * Drop new connections forwarded in through the egress interface: set when the host did not
   * forward before Slipway turned it on there, so it does not become a router for its LAN.
   */
  dropInboundNew?: boolean;
}

/** Parses an IPv4 /16 such as `10.214.0.0/16`. */
export function parseBuildSubnet(cidr: string): BuildSubnet {
  const m = /^(\d{1,3})\.(\d{1,3})\.0\.0\/16$/.exec(cidr);
  const a = Number(m?.[1]);
  const b = Number(m?.[2]);
  if (!m || a > 255 || b > 255) {
    throw new SlipwayError('invalid_request', `SLIPWAY_BUILD_SUBNET must be an IPv4 /16 such as 10.214.0.0/16, not "${cidr}"`, { details: { field: 'SLIPWAY_BUILD_SUBNET' } });
  }
  return { a, b, cidr };
}

/** Most build slots a /16 holds (one /30 each). */
export const BUILD_SLOTS_PER_SUBNET = 16_384;

/** Names and addresses of build slot `slot` (0-based). */
export function buildSlotNet(label: string, subnet: BuildSubnet, slot: number): BuildSlotNet {
  if (!Number.isInteger(slot) || slot < 0 || slot >= BUILD_SLOTS_PER_SUBNET) {
    throw new SlipwayError('internal_error', `build slot ${slot} is outside the build subnet`);
  }
  const base = slot * 4;
  const prefix = `${subnet.a}.${subnet.b}.${Math.floor(base / 256)}`;
  return { name: `${label}-b${slot}`, hostIp: `${prefix}.${(base % 256) + 1}`, buildIp: `${prefix}.${(base % 256) + 2}` };
}

/** Matches exactly the build namespaces and veths of `label`. */
export function buildNamePattern(label: string): RegExp {
  return new RegExp(`^${label}-b\\d+$`);
}

/** The nftables table of `label`'s builds (the instances' is `slipway_<label>`). */
export function buildTableName(label: string): string {
  return `slipway_${label}_build`;
}

/** The nameservers of a resolv.conf text, in order. */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** Where systemd-resolved lists the upstream servers its `127.0.0.53` stub forwards to. */
export const RESOLVED_UPSTREAM_CONF = '/run/systemd/resolve/resolv.conf';

/** The DNS servers builds use, and the resolv.conf to show them when it is not the host's. */
export interface BuildResolvers {
  resolvers: string[];
  /** Bound over the sandbox's `/etc/resolv.conf`; absent when the host's own will do. */
  resolvConf?: string;
}

/**
 * Builds query the host's resolvers directly (they are not on the host's loopback, which a
 * namespace cannot reach). When `/etc/resolv.conf` names only loopback ones (systemd-resolved's
 * stub), builds get resolved's upstream list instead; when there is none, no DNS.
 */
export function chooseBuildResolvers(hostConf: string, upstreamConf: string | null): BuildResolvers {
  const direct = parseNameservers(hostConf).filter((r) => !isLoopbackV4(r));
  if (direct.length > 0 || upstreamConf === null) return { resolvers: direct };
  const upstream = parseNameservers(upstreamConf).filter((r) => !isLoopbackV4(r));
  return upstream.length > 0 ? { resolvers: upstream, resolvConf: RESOLVED_UPSTREAM_CONF } : { resolvers: [] };
}

/** True for an IPv4 address in 127.0.0.0/8 (a resolver a namespace cannot reach). */
export function isLoopbackV4(address: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/**
 * The table, replaced atomically (create, delete, create in one transaction). Input: nothing
 * from a build's veth reaches the host itself, on any address and port (Slipway's API, the
 * edge, loopback-bound services via the veth address). Forward: a build starts connections only
 * out of the default route's interface, never to the blocked ranges, the instance subnet or
 * another build, except DNS to the host's resolvers; nothing enters a build but replies. IPv6
 * is dropped (the veths get link-local addresses by themselves). Postrouting masquerades the
 * build subnet behind the egress interface.
 */
export function buildRuleset(input: BuildRulesInput): string {
  const table = buildTableName(input.label);
  const veths = `"${input.label}-b*"`;
  const blocked = [...BLOCKED_RANGES, input.instanceSubnet, input.subnet.cidr].join(', ');
  const dns = input.resolvers.filter((r) => /^\d{1,3}(\.\d{1,3}){3}$/.test(r) && !isLoopbackV4(r));
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname ${veths} drop`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    oifname ${veths} ct state established,related accept`,
    `    oifname ${veths} drop`,
    `    iifname ${veths} meta nfproto ipv6 drop`,
    ...(dns.length ? [`    iifname ${veths} ip daddr { ${dns.join(', ')} } meta l4proto { tcp, udp } th dport 53 accept`] : []),
    `    iifname ${veths} ip daddr { ${blocked} } drop`,
    `    iifname ${veths} oifname != "${input.egress}" drop`,
    ...(input.dropInboundNew ? [`    iifname "${input.egress}" ct state new drop`] : []),
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    ip saddr ${input.subnet.cidr} oifname "${input.egress}" masquerade`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}
