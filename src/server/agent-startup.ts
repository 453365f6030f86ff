import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../agent/agent-process.js';
import { createLocalDriver, type LocalDriver } from '../runtime/local/local-driver.js';
import { homePaths, type SlipwayConfig } from './config.js';
import { readInternalToken, serverUrl } from './edge-process.js';

/** The runtime driver of this host, chosen once from the configuration. */
export function createRuntimeDriver(config: SlipwayConfig): LocalDriver {
  const root = process.getuid?.() === 0;
  return createLocalDriver({
    stateDir: join(homePaths(config.home).agent, 'instances'),
    uidBase: root ? config.instanceUidBase : undefined,
    subnet: config.instanceSubnet,
    label: config.runtimeLabel,
    isolation: config.runtimeIsolation,
    cgroupRoot: config.cgroupRoot,
  });
}

/** Starts `slipway agent` for this home: the local driver, the server's assignments. */
export async function startAgentProcess(config: SlipwayConfig): Promise<RunningAgent> {
  const driver = createRuntimeDriver(config);
  const agent = await startAgent({
    serverUrl: serverUrl(config), token: await readInternalToken(config), hostId: config.hostId,
    stateDir: homePaths(config.home).agent, driver,
  });
  console.log([driverLine(driver), ...driver.warnings.map((w) => `WARNING: ${w}`)].join('; '));
  return agent;
}

/**
 * The agent's start line: what instances get on this host, and loudly what they do not and
 * why. Tests and operators read it; the part in parentheses keeps its shape when all is on.
 *
 * @example
 * agent: driver local (network isolation on, sandbox on, limits on); cgroup v1
 * agent: driver local (network isolation on, sandbox on, limits NOT ENFORCED); WARNING: memory, CPU and pids limits are not enforced: no cgroup v1 controllers and no cgroup v2 hierarchy at /x
 */
export function driverLine(driver: LocalDriver): string {
  const c = driver.capabilities;
  const onOff = (on: boolean) => (on ? 'on' : 'off');
  const limits = c.resourceLimits ? 'on' : c.sandboxedFilesystem ? 'NOT ENFORCED' : 'off';
  const head = `agent: driver ${driver.name} (network isolation ${onOff(c.isolatedNetwork)}, sandbox ${onOff(c.sandboxedFilesystem)}, limits ${limits})`;
  if (driver.refusal) return `${head}; REFUSING to start instances (isolation_unavailable): ${driver.refusal}`;
  if (driver.fallbackReason) {
    const user = process.getuid?.() === 0 ? 'root' : "Slipway's user";
    return `${head}; WARNING: apps run as plain processes of ${user}, unsandboxed: ${driver.fallbackReason}`;
  }
  if (!c.resourceLimits) return `${head}; WARNING: memory, CPU and pids limits are not enforced: ${c.resourceLimitsReason ?? 'unknown'}`;
  return `${head}; cgroup ${driver.cgroupVersion}`;
}

/**
 * Stops every instance of this home and removes what the runtime set up on the host. Only for
 * a full stop of the platform (`slipway up` exiting), never for an agent restart.
 */
export async function destroyRuntime(config: SlipwayConfig): Promise<void> {
  await createRuntimeDriver(config).destroyAll();
}
