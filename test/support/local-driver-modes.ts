/**
 * The local driver's modes as tests run them, and the check that one left nothing on the host.
 * Shared by the local driver's own tests and its run of the driver conformance suite.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { CGROUP_CONTROLLERS } from '../../src/runtime/local/cgroups.js';
import { probeIsolation } from '../../src/runtime/local/host-probe.js';
import { runCommand } from '../../src/util/child-process.js';
import { claimHostValue } from './host-claims.js';

/** What this host offers the isolated mode. */
export const hostProbe = probeIsolation();

/** Why the isolated modes cannot run here, or false when they can. */
export const isolatedSkip: string | false = hostProbe.available
  ? false
  : `isolated mode needs root, bwrap, nft, ip, setpriv and cgroup v1: ${hostProbe.reason}`;

/** One way of running the local driver in a test. */
export interface LocalDriverMode {
  name: string;
  isolation: 'auto' | 'none';
  /** Undefined: the host's cgroups; a path that does not exist: a host whose cgroups cannot limit. */
  cgroupRoot: string | undefined;
  skip: string | false;
  isolated: boolean;
  /** Isolated with cgroups: limits are enforced. */
  limited: boolean;
}

/**
 * The three modes. The middle one is a host whose cgroups cannot limit instances (cgroup v2
 * only, without delegation): the sandbox must hold all the same, only the limits are gone.
 */
export const LOCAL_DRIVER_MODES: readonly LocalDriverMode[] = [
  { name: 'isolated', isolation: 'auto', cgroupRoot: undefined, skip: isolatedSkip, isolated: true, limited: true },
  { name: 'isolated without cgroups', isolation: 'auto', cgroupRoot: '/nonexistent/cgroup', skip: isolatedSkip, isolated: true, limited: false },
  { name: 'isolation none', isolation: 'none', cgroupRoot: undefined, skip: false, isolated: false, limited: false },
];

/**
 * A label (3-8 of [a-z0-9]) and a /16 unique to one test file's run, so leftover checks can be
 * exact. The /16 is claimed from the pool test platforms take their instance subnets from (held
 * until this process ends): a random pick let two files running side by side share a /16 and
 * see each other's routes as leftovers (seen in CI).
 */
export function uniqueNames(prefix: string): { run: string; subnet: string } {
  return { run: `${prefix}${randomBytes(2).toString('hex')}`, subnet: `10.${claimHostValue('instance-subnet', 100, 200).value}.0.0/16` };
}

/** Anything of `label` (or in `subnet`) still on the host: namespaces, links, nft tables, mounts, loop devices, routes, cgroups. */
export async function localLeftovers(label: string, subnet: string): Promise<string[]> {
  const found: string[] = [];
  const has = (text: string, what: string): void => {
    if (text.includes(label)) found.push(`${what}: ${text.split('\n').filter((l) => l.includes(label)).join(' | ')}`);
  };
  has((await runCommand(['ip', 'netns', 'list'])).stdout, 'netns');
  has((await runCommand(['ip', '-o', 'link'])).stdout, 'link');
  has((await runCommand(['nft', 'list', 'tables'])).stdout, 'nft');
  // Each isolated instance's /tmp: a mount under /run/slipway/<label>/ and a loop device.
  has(readFileSync('/proc/self/mounts', 'utf8'), 'mount');
  has((await runCommand(['losetup', '-a'])).stdout, 'loop');
  const routes = (await runCommand(['ip', 'route'])).stdout;
  if (routes.includes(subnet.replace('.0.0/16', '.'))) found.push(`route: ${routes}`);
  for (const c of [...CGROUP_CONTROLLERS.map((c) => `${c}/`), '']) {
    const dir = `/sys/fs/cgroup/${c}slipway/${label}`;
    if (existsSync(dir)) found.push(`cgroup: ${dir}`);
  }
  return found;
}
