/**
 * The Slipway-owned Docker engine of one home (SLIPWAY_RUNTIME_DRIVER=docker): where it keeps its
 * state and how each process reaches it. `slipway up` starts it before anything else and stops
 * it last; the agent adopts the one running on the same state (so an agent restart never
 * restarts the engine, whose containers would stop); the server only talks to its socket.
 */
import { isSlipwayError, SlipwayError } from '../core/errors.js';
import { createEngineApi, type EngineApi } from '../runtime/docker/engine-api.js';
import { engineLayout, startDockerEngine, type DockerEngine } from '../runtime/docker/engine.js';
import { homePaths, type SlipwayConfig } from './config.js';

/**
 * The engine's parent cgroup: one per home (the runtime label is), so stopping one platform's
 * engine never sweeps another's containers.
 */
export function engineCgroupParent(config: SlipwayConfig): string {
  return `slipway-docker-${config.runtimeLabel}`;
}

/** A client of this home's engine socket; connects on first use, so the engine may come later. */
export function containerEngineApi(config: SlipwayConfig): EngineApi {
  return createEngineApi(engineLayout(homePaths(config.home).docker).socketPath);
}

/**
 * Starts this home's engine, or adopts the one already running on its state. Fails with
 * `unavailable` saying what to install when dockerd is missing, or where its log is when it
 * does not come up.
 */
export async function startContainerEngine(config: SlipwayConfig): Promise<DockerEngine> {
  const stateDir = homePaths(config.home).docker;
  try {
    return await startDockerEngine({
      stateDir, cgroupParent: engineCgroupParent(config), usernsRemap: config.dockerUsernsRemap, ownedAncestors: [config.home],
    });
  } catch (err) {
    if (!isSlipwayError(err, 'unavailable')) throw err;
    const message = err.message.startsWith('dockerd is not installed')
      ? 'dockerd is not installed: install docker.io (as root, `npm run up` does; by hand, `apt-get install --no-install-recommends docker.io` with /usr/sbin/policy-rc.d refusing service starts, docs/docker.md), or unset SLIPWAY_RUNTIME_DRIVER'
      // A remapping that cannot be set up is refused before dockerd runs: its log says nothing.
      : err.details.why !== undefined ? err.message : `${err.message}; see ${engineLayout(stateDir).logFile}`;
    throw new SlipwayError('unavailable', `SLIPWAY_RUNTIME_DRIVER=docker needs Docker's engine, but ${message}`, {
      cause: err,
      details: err.details,
    });
  }
}
