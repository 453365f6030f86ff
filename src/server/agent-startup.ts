import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../agent/agent-process.js';
import { createLocalDriver } from '../runtime/local/local-driver.js';
import type { RuntimeDriver } from '../runtime/runtime-driver.js';
import { homePaths, type SlipwayConfig } from './config.js';
import { readInternalToken, serverUrl } from './edge-process.js';

/** The runtime driver of this host, chosen once from the configuration. */
export function createRuntimeDriver(config: SlipwayConfig): RuntimeDriver {
  const root = process.getuid?.() === 0;
  return createLocalDriver({
    stateDir: join(homePaths(config.home).agent, 'instances'),
    uidBase: root ? config.instanceUidBase : undefined,
    subnet: config.instanceSubnet,
    label: config.runtimeLabel,
    isolation: config.runtimeIsolation,
  });
}

/** Starts `slipway agent` for this home: the local driver, the server's assignments. */
export async function startAgentProcess(config: SlipwayConfig): Promise<RunningAgent> {
  const driver = createRuntimeDriver(config);
  const agent = await startAgent({
    serverUrl: serverUrl(config), token: await readInternalToken(config), hostId: config.hostId,
    stateDir: homePaths(config.home).agent, driver,
  });
  const c = driver.capabilities;
  console.log(`agent: driver ${driver.name} (network isolation ${c.isolatedNetwork ? 'on' : 'off'}, sandbox ${c.sandboxedFilesystem ? 'on' : 'off'}, limits ${c.resourceLimits ? 'on' : 'off'})`);
  return agent;
}

/**
 * Stops every instance of this home and removes what the runtime set up on the host. Only for
 * a full stop of the platform (`slipway up` exiting), never for an agent restart.
 */
export async function destroyRuntime(config: SlipwayConfig): Promise<void> {
  await createRuntimeDriver(config).destroyAll();
}
