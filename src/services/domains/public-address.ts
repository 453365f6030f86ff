import { BlockList, isIP } from 'node:net';

/**
 * Address ranges the HTTP token check never connects to: a claimant publishes whatever A or
 * AAAA record it likes, and the server must not become its probe of the platform's own network
 * (loopback, RFC 1918, cloud metadata at 169.254.169.254, CGNAT, IPv6 ULA, …).
 */
const NON_PUBLIC_V4: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // CGNAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const NON_PUBLIC_V6: Array<[string, number]> = [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  // Addresses that carry an IPv4 address inside (mapped, NAT64, 6to4): refused whole rather
  // than trusted to carry a public one.
  ['::ffff:0:0', 96],
  ['64:ff9b::', 96],
  ['2002::', 16],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
];

// Two lists: a BlockList also checks an IPv4 address against its IPv6 rules in mapped form,
// so `::ffff:0:0/96` in one list with the IPv4 rules would refuse every IPv4 address.
const blockedV4 = new BlockList();
for (const [net, prefix] of NON_PUBLIC_V4) blockedV4.addSubnet(net, prefix, 'ipv4');
const blockedV6 = new BlockList();
for (const [net, prefix] of NON_PUBLIC_V6) blockedV6.addSubnet(net, prefix, 'ipv6');

/** True for an address on the public internet; false for a non-public one or something that is no address. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return family === 4 ? !blockedV4.check(address, 'ipv4') : !blockedV6.check(address, 'ipv6');
}
