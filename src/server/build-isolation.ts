/**
 * Start-up wiring of the build sandbox and build network: which of them this host allows,
 * setting the network up (after cleaning what a crashed run left) and tearing it down.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { parseBuildSubnet } from '../build/build-net-rules.js';
import { buildNetworkSlots, destroyBuildNetwork, prepareBuildNetwork, type BuildNetworkConfig, type BuildNetworkSlots } from '../build/build-network.js';
import { hostRootArgs, type BuildSandbox } from '../build/build-sandbox.js';
import type { SlipwayConfig } from './config.js';

/** What builds get on this host. */
export interface BuildIsolation {
  sandbox: BuildSandbox | undefined;
  network: BuildNetworkSlots | undefined;
  /** One line for the start-up log: what builds are isolated by, or why not. */
  summary: string;
  /** Warnings to log once (loopback-only DNS, a network that could not be set up). */
  warnings: string[];
  /** Removes the build network (namespaces, veths, firewall table, route, forwarding). */
  close(): Promise<void>;
}

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findTool(name: string): string | null {
  for (const dir of SEARCH) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return null;
}

/**
 * Removes what a build network of this home left on the host (namespaces, veths, firewall
 * table, blackhole route, forwarding): for `slipway down --stop-apps` after a server that
 * crashed. Nothing to do without root or the tools, which a build network needs too.
 */
export async function removeLeftBuildNetwork(config: SlipwayConfig): Promise<void> {
  const ip = findTool('ip');
  const nft = findTool('nft');
  if (process.getuid?.() !== 0 || ip === null || nft === null) return;
  await destroyBuildNetwork({ label: config.runtimeLabel, subnet: parseBuildSubnet(config.buildSubnet), instanceSubnet: config.instanceSubnet, ip, nft });
}

/**
 * Build steps are namespaced with bubblewrap when builds run as their own users (root) and it
 * is installed; `SLIPWAY_BUILD_SANDBOX=off` turns it off. With iproute2, nftables, nsenter and
 * setpriv too, each build also gets its own network namespace. Whatever is missing is said in
 * `summary`: builds then share the host's network, as before.
 */
export async function setupBuildIsolation(config: SlipwayConfig): Promise<BuildIsolation> {
  const none = (summary: string): BuildIsolation => ({ sandbox: undefined, network: undefined, summary, warnings: [], close: async () => {} });
  if (config.buildUidBase === undefined) return none('builds run as Slipway\'s own user, unsandboxed, on the host network (not root)');
  if (!config.buildSandbox) return none('builds run as build users without a sandbox, on the host network (SLIPWAY_BUILD_SANDBOX=off)');
  const bwrap = findTool('bwrap');
  if (!bwrap) return none('builds run as build users without a sandbox, on the host network (bubblewrap is not installed)');
  // Shortest first: a home inside /root is hidden after /root itself. /var/tmp holds every
  // home's build trees when their homes are closed (see buildWorkDir).
  const hide = [...new Set(['/root', '/var/tmp', config.home])].sort((a, b) => a.length - b.length);
  const root = hostRootArgs();
  const tools = { ip: findTool('ip'), nft: findTool('nft'), nsenter: findTool('nsenter'), setpriv: findTool('setpriv') };
  const missing = Object.entries(tools).filter(([, path]) => path === null).map(([name]) => name);
  if (missing.length > 0) {
    return { ...none(`builds run sandboxed, but on the host network (${missing.join(', ')} not installed)`), sandbox: { bwrap, hide, root } };
  }
  const cfg: BuildNetworkConfig = {
    label: config.runtimeLabel, subnet: parseBuildSubnet(config.buildSubnet), instanceSubnet: config.instanceSubnet,
    ip: tools.ip!, nft: tools.nft!,
  };
  let prepared;
  try {
    prepared = await prepareBuildNetwork(cfg);
  } catch (err) {
    await destroyBuildNetwork(cfg).catch(() => undefined);
    return {
      ...none(`builds run sandboxed, but on the host network (the build network could not be set up: ${(err as Error).message})`),
      sandbox: { bwrap, hide, root },
    };
  }
  const sandbox: BuildSandbox = {
    bwrap, hide, root, net: { nsenter: tools.nsenter!, setpriv: tools.setpriv!, ...(prepared.resolvConf ? { resolvConf: prepared.resolvConf } : {}) },
  };
  const egress = prepared.egress ? `egress through ${prepared.egress}` : 'no egress (the host has no default route)';
  return {
    sandbox, network: buildNetworkSlots(cfg),
    summary: `builds run sandboxed, each in its own network namespace from ${config.buildSubnet} (${egress})`,
    warnings: prepared.warning ? [prepared.warning] : [],
    close: () => destroyBuildNetwork(cfg),
  };
}
