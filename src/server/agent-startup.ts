import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../agent/agent-process.js';
import { isSlipwayError, SlipwayError } from '../core/errors.js';
import { createDockerDriver, type DockerDriver } from '../runtime/docker/docker-driver.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import { engineLayout, type DockerEngine } from '../runtime/docker/engine.js';
import { engineOwners } from '../runtime/docker/engine-owner.js';
import { createLocalDriver, type LocalDriver } from '../runtime/local/local-driver.js';
import { createReleaseKindDriver } from '../runtime/release-kind-driver.js';
import type { RuntimeCapabilities, RuntimeDriver } from '../runtime/runtime-driver.js';
import { homePaths, type SlipwayConfig } from './config.js';
import { containerEngineApi, startContainerEngine } from './container-engine.js';
import { readInternalToken, serverUrl } from './edge-process.js';

/** The runtime of this host: the driver the agent uses, and its parts for the start line. */
export interface HostRuntime {
  /** What the agent drives: the local driver alone, or it and the docker driver behind one. */
  driver: RuntimeDriver;
  /** Runs file-tree releases (all of them without SLIPWAY_RUNTIME_DRIVER=docker). */
  local: LocalDriver;
  /** Runs image releases (SLIPWAY_RUNTIME_DRIVER=docker); null when there is none. */
  images: DockerDriver | null;
}

/**
 * The runtime driver of this host, chosen once from the configuration. With
 * SLIPWAY_RUNTIME_DRIVER=docker and an engine to talk to, image releases run on the docker
 * driver (its own label and subnet, so its host objects never meet the local driver's) and
 * file-tree releases stay on the local driver, exactly as without it. With no engine (`up`
 * stopping after the engine failed to start) there are only the local driver's instances.
 */
export function createRuntimeDriver(config: SlipwayConfig, engine: EngineApi | null = null): HostRuntime {
  const root = process.getuid?.() === 0;
  const local = createLocalDriver({
    stateDir: join(homePaths(config.home).agent, 'instances'),
    uidBase: root ? config.instanceUidBase : undefined,
    subnet: config.instanceSubnet,
    label: config.runtimeLabel,
    isolation: config.runtimeIsolation,
    cgroupRoot: config.cgroupRoot,
  });
  if (config.runtimeDriver !== 'docker' || engine === null) return { driver: local, local, images: null };
  const images = createDockerDriver({
    api: engine,
    stateDir: join(homePaths(config.home).agent, 'containers'),
    // Where the agent keeps instance logs (agent-process.ts): a container naming another log
    // file in its labels is not adopted.
    logDir: join(homePaths(config.home).agent, 'logs'),
    label: `${config.runtimeLabel}c`,
    subnet: config.containerSubnet,
  });
  return { driver: createReleaseKindDriver(local, images), local, images };
}

/**
 * Starts `slipway agent` for this home: the local driver, the server's assignments; with
 * SLIPWAY_RUNTIME_DRIVER=docker also the docker driver, on the engine `up` started (adopted
 * here; started here when the agent runs alone). The agent never stops the engine: a restart
 * must leave its containers running. An engine that cannot be started or adopted costs only
 * the image releases: file-tree apps still run, and the start line says so loudly.
 */
export async function startAgentProcess(config: SlipwayConfig): Promise<RunningAgent> {
  let engine: DockerEngine | null = null;
  let engineFailure: string | undefined;
  if (config.runtimeDriver === 'docker') {
    try {
      engine = await startContainerEngine(config);
    } catch (err) {
      if (!isSlipwayError(err, 'unavailable')) throw err;
      engineFailure = err.message;
    }
  }
  const runtime = createRuntimeDriver(config, engine?.api ?? null);
  const agent = await startAgent({
    serverUrl: serverUrl(config), token: await readInternalToken(config), hostId: config.hostId,
    stateDir: homePaths(config.home).agent, driver: runtime.driver, docker: engine?.api,
    startConcurrency: config.agentStartConcurrency,
  });
  const images = runtime.images && engine ? { driver: runtime.images, engine: await engineName(engine) } : undefined;
  console.log([driverLine(runtime.local, images, engineFailure), ...runtime.local.warnings.map((w) => `WARNING: ${w}`)].join('; '));
  if (!engine) return agent;
  return {
    get connected() {
      return agent.connected;
    },
    instanceIds: () => agent.instanceIds(),
    async close() {
      await agent.close();
      // Lets go of the engine (its event stream, the log copiers) without stopping anything:
      // the containers and the engine keep running for the next agent.
      runtime.images?.close();
      // Bounded: a stream the engine has not ended yet must not hold up the agent's exit.
      await Promise.race([engine.api.close(), new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    },
  };
}

async function engineName(engine: DockerEngine): Promise<string> {
  const version = await engine.api.json<{ Version?: string }>({ method: 'GET', path: '/version', timeoutMs: 5_000 })
    .then((v) => v.Version ?? 'version unknown', (err: Error) => `version unknown: ${err.message}`);
  return engineWords(engine, version);
}

/**
 * The engine in words for the start line. Whether root in a build step or container is host
 * root is said on every start: a host where it is must not look like one where it is not.
 */
export function engineWords(engine: Pick<DockerEngine, 'pid' | 'started' | 'remappedRoot'>, version: string): string {
  const root = engine.remappedRoot === null || engine.remappedRoot === undefined
    ? '; WARNING: Dockerfile builds run as root on the host (SLIPWAY_DOCKER_USERNS=off)'
    : `, root remapped to host uid ${engine.remappedRoot < 0 ? 'unknown' : engine.remappedRoot}`;
  return `dockerd ${version} (pid ${engine.pid}, ${engine.started ? 'started' : 'adopted'})${root}`;
}

/** The image half of the agent's start line: its driver, and the engine it runs on. */
export interface ImageDriverFacts {
  driver: RuntimeDriver;
  /** The engine in words, e.g. `dockerd 20.10.24+dfsg1 (pid 4242, adopted), root remapped to host uid 3000000`. */
  engine: string;
}

const onOff = (on: boolean) => (on ? 'on' : 'off');

function capabilityWords(c: RuntimeCapabilities): string {
  const limits = c.resourceLimits ? 'on' : c.sandboxedFilesystem ? 'NOT ENFORCED' : 'off';
  return `network isolation ${onOff(c.isolatedNetwork)}, sandbox ${onOff(c.sandboxedFilesystem)}, limits ${limits}`;
}

/**
 * The agent's start line: what instances get on this host, and loudly what they do not and
 * why. Tests and operators read it; the part in parentheses keeps its shape when all is on.
 * With an image driver the line names both drivers: the part in parentheses is still the
 * local driver's (file-tree releases), and the image driver's own follows at the end.
 *
 * @example
 * agent: driver local (network isolation on, sandbox on, limits on); cgroup v1
 * agent: driver local (network isolation on, sandbox on, limits NOT ENFORCED); WARNING: memory, CPU and pids limits are not enforced: no cgroup v1 controllers and no cgroup v2 hierarchy at /x
 * agent: driver local+docker (network isolation on, sandbox on, limits on); cgroup v1; image releases: driver docker (network isolation on, sandbox on, limits on, own user on) on dockerd 20.10.24+dfsg1 (pid 4242, adopted), root remapped to host uid 3000000
 * agent: driver local (network isolation on, sandbox on, limits on); cgroup v1; WARNING: image releases (Dockerfile apps) will NOT run: SLIPWAY_RUNTIME_DRIVER=docker needs Docker's engine, but …
 *
 * `imagesUnavailable` says why SLIPWAY_RUNTIME_DRIVER=docker has no image driver (its engine
 * did not start or answer).
 */
export function driverLine(driver: LocalDriver, images?: ImageDriverFacts, imagesUnavailable?: string): string {
  const c = driver.capabilities;
  const name = images ? `${driver.name}+${images.driver.name}` : driver.name;
  const head = `agent: driver ${name} (${capabilityWords(c)})`;
  const tail = images
    ? `; image releases: driver ${images.driver.name} (${capabilityWords(images.driver.capabilities)}, own user ${onOff(images.driver.capabilities.ownUser)}) on ${images.engine}`
    : imagesUnavailable !== undefined ? `; WARNING: image releases (Dockerfile apps) will NOT run: ${imagesUnavailable}` : '';
  // With an image driver, a refusing local driver still leaves image releases running.
  const refused = images ? 'file-tree instances' : 'instances';
  if (driver.refusal) return `${head}; REFUSING to start ${refused} (isolation_unavailable): ${driver.refusal}${tail}`;
  if (driver.fallbackReason) {
    const user = process.getuid?.() === 0 ? 'root' : "Slipway's user";
    return `${head}; WARNING: apps run as plain processes of ${user}, unsandboxed: ${driver.fallbackReason}${tail}`;
  }
  if (!c.resourceLimits) return `${head}; WARNING: memory, CPU and pids limits are not enforced: ${c.resourceLimitsReason ?? 'unknown'}${tail}`;
  return `${head}; cgroup ${driver.cgroupVersion}${tail}`;
}

/**
 * Stops every instance of this home and removes what the runtime set up on the host; then stops
 * the Docker engine `up` started, if any (its images stay for the next start). Only for a full
 * stop of the platform (`slipway up` exiting), never for an agent restart. Every step runs even
 * when one before it failed. An engine still running on this home's state without one given
 * (a run with SLIPWAY_RUNTIME_DRIVER=docker, then one without) is adopted and stopped too, its
 * instances and host objects first.
 */
export async function destroyRuntime(config: SlipwayConfig, engine: DockerEngine | null = null): Promise<void> {
  if (engine === null && engineOwners(engineLayout(homePaths(config.home).docker)).length > 0) {
    const failures: string[] = [];
    const adopted = await startContainerEngine(config).catch((err: Error) => {
      failures.push(`the Docker engine left running on ${homePaths(config.home).docker}: ${err.message}`);
      return null;
    });
    await destroyWith(config.runtimeDriver === 'docker' ? config : { ...config, runtimeDriver: 'docker' }, adopted)
      .catch((err: Error) => failures.push(err.message));
    if (failures.length > 0) throw new SlipwayError('internal_error', failures.join('; '), { details: { failures } });
    return;
  }
  await destroyWith(config, engine);
}

async function destroyWith(config: SlipwayConfig, engine: DockerEngine | null): Promise<void> {
  // A client of its own for the driver: the engine's is closed by its stop, which must not
  // wait on a stream the driver may still follow.
  const api = engine ? containerEngineApi(config) : null;
  const failures: string[] = [];
  await createRuntimeDriver(config, api).driver.destroyAll().catch((err: Error) => failures.push(err.message));
  void api?.close().catch(() => undefined);
  if (engine) await engine.stop().catch((err: Error) => failures.push(err.message));
  if (failures.length > 0) throw new SlipwayError('internal_error', failures.join('; '), { details: { failures } });
}
