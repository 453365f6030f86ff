import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { homePaths, type SlipwayConfig } from './config.js';
import type { DockerEngine } from '../runtime/docker/engine.js';
import { SlipwayError } from '../core/errors.js';
import type { EngineApi } from '../runtime/docker/engine-api.js';
import type { RuntimeDriver } from '../runtime/runtime-driver.js';
import { createRuntimeDriver, destroyRuntime } from './agent-startup.js';
import { startContainerEngine } from './container-engine.js';
import { EngineSupervisor } from './engine-supervisor.js';
import { acquirePidLock } from './pid-lock.js';
import { Supervisor, type ChildSpec } from './supervisor.js';
import { waitForHttp } from './wait-http.js';
import { findLeftEdge } from './edge-record.js';
import { stopProcess } from './stop-process.js';

/** The edge's HTTPS port under `up` when SLIPWAY_HTTPS_PORT is unset (a bare edge serves none). */
export const UP_HTTPS_PORT = 8443;

/**
 * `<home>/up.stop-apps`: written by `slipway down --stop-apps` before it signals `up`, so that
 * this stop takes the apps and the edge with it.
 */
export function stopAppsMarker(home: string): string {
  return join(home, 'up.stop-apps');
}

/** How to start this same program again as a child (`node [--import tsx] <entry>`). */
export function selfArgv(command: string): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!, command];
}

/**
 * `slipway up`: the server, the edge and the agent as separate processes under one supervisor,
 * in the foreground, until Ctrl-C. A second `up` on the same SLIPWAY_HOME is refused.
 *
 * Stopping it stops the control plane (server, agent) and leaves the data plane running: the
 * instances, and the edge serving its last routes (docs/architecture.md §4). The next `up`
 * adopts that edge when it runs this very build of the program, and replaces it otherwise; its agent
 * re-adopts the instances. With SLIPWAY_UP_STOP_APPS=1, or when `slipway down --stop-apps`
 * asked, the stop takes the edge and every instance too and cleans the host, as before.
 */
export async function runUp(config: SlipwayConfig, print: (line: string) => void): Promise<void> {
  const paths = homePaths(config.home);
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  const lock = await acquirePidLock(paths.upLock, `slipway up for ${config.home}`);
  const logDir = join(config.home, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const supervisor = new Supervisor(logDir, (line) => print(`slipway: ${line}`));
  // HTTPS with no setup: the local CA's certificates on 8443 unless told otherwise (0: none).
  const httpsPort = process.env.SLIPWAY_HTTPS_PORT === undefined || process.env.SLIPWAY_HTTPS_PORT === '' ? UP_HTTPS_PORT : config.httpsPort;
  const env = { ...process.env, SLIPWAY_HOME: config.home, SLIPWAY_HTTPS_PORT: String(httpsPort) };
  const apiHost = config.apiHost === '0.0.0.0' ? '127.0.0.1' : config.apiHost;
  const edgeHost = config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost;
  let stopping: Promise<void> | undefined;
  // Kept while it starts: a Ctrl-C then must wait for it and stop it, not leave dockerd running.
  let engineStart: Promise<DockerEngine | null> = Promise.resolve(null);
  // Restarts dockerd when it dies; stopped first by a stop, which then gets the engine running now.
  let engineWatch: EngineSupervisor | null = null;
  const marker = stopAppsMarker(config.home);
  await rm(marker, { force: true });
  // By default the apps, the edge and (with the docker driver) the engine their containers run
  // on outlive `up`; stopping the apps too stops the Docker engine last, once its containers
  // are gone.
  const stop = () => (stopping ??= (async () => {
    const withApps = config.upStopApps || existsSync(marker);
    const watched = await engineWatch?.stop();
    const left = await supervisor.stop({ leave: withApps ? [] : ['edge'] });
    if (withApps) {
      const engine = watched ?? await engineStart.catch(() => null);
      await destroyRuntime(config, engine).catch((err: Error) => print(`slipway: could not stop every instance: ${err.message}`));
    } else {
      print(`slipway: left running: the apps${left.includes('edge') ? ', the edge' : ''}${config.runtimeDriver === 'docker' ? ', the Docker engine' : ''} (stop them with: slipway down --stop-apps)`);
    }
    await rm(marker, { force: true });
    await lock.release();
  })());
  // `on`, not `once`: a second signal (npm forwarding the one the group already got) must not
  // kill `up` with the default action before it has stopped the apps and cleaned the host.
  process.on('SIGINT', () => void stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => void stop().then(() => process.exit(0)));
  try {
    print(`Starting Slipway in ${config.home} …`);
    if (config.runtimeDriver === 'docker') {
      // First: the server builds Dockerfile sources on it and the agent adopts it. Started by
      // `up`, it outlives agent restarts; only `up` stopping stops it.
      const starting = startContainerEngine(config);
      engineStart = starting;
      const engine = await starting;
      print(`Docker engine: dockerd pid ${engine.pid} (${engine.started ? 'started' : 'already running'}), state in ${engine.layout.stateDir}`);
      if (stopping === undefined) engineWatch = new EngineSupervisor(engine, { start: () => startContainerEngine(config), print });
    }
    await supervisor.start({
      name: 'server', argv: selfArgv('server'), env,
      // The first start creates the embedded database, which takes several seconds.
      ready: (signal) => waitForHttp(`http://${apiHost}:${config.apiPort}/api/v1/healthz`, { timeoutMs: 120_000, signal }),
    });
    // An edge started now serves the instance addresses it saved (after a reboot, or a stop
    // with the apps, their instances are gone): the subnets' blackhole routes must be in place
    // before it dials one, or that connect would leave the host. The agent does this too, later.
    // The watch's engine, not the first one: after a restart that one's client is closed.
    await prepareRuntimeNetworks(config, (engineWatch?.engine ?? await engineStart)?.api ?? null, print);
    await startOrAdoptEdge(supervisor, {
      name: 'edge', argv: selfArgv('edge'), env,
      ready: (signal) => waitForHttp(`http://${edgeHost}:${config.httpPort}/_slipway/health`, { timeoutMs: 30_000, signal }),
    }, { config, print });
    await supervisor.start({ name: 'agent', argv: selfArgv('agent'), env });
  } catch (err) {
    await stop();
    throw err;
  }
  const port = config.publicPort === 80 ? '' : `:${config.publicPort}`;
  print([
    '',
    'Slipway is up.',
    `  API:         http://${apiHost}:${config.apiPort}/api/v1`,
    `  Apps:        ${config.publicScheme}://<slug>.${config.baseDomain}${port}`,
    // With ACME no local CA is made (docs/domains.md#tls-certificates): its file would not exist.
    ...(httpsPort === 0 ? [] : config.acme !== undefined ? [
      `  HTTPS:       port ${httpsPort}, certificates from ACME (${config.acme.directoryUrl})`,
    ] : [
      `  HTTPS:       https://<slug>.${config.baseDomain}:${httpsPort} (local CA: ${paths.localCaCert})`,
      `               curl --cacert ${paths.localCaCert} https://<slug>.${config.baseDomain}:${httpsPort}/`,
    ]),
    `  Admin key:   ${paths.credentials}`,
    `  Logs:        ${logDir}`,
    '',
    'Publish a folder:  npx slipway publish ./my-site --deployment my-site --wait',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  await new Promise<never>(() => undefined);
}

/** What {@link prepareInstanceNetwork} needs of a driver. */
type PreparableDriver = Pick<RuntimeDriver, 'prepare' | 'capabilities'>;

/**
 * Prepares the networks of this home's runtime before the edge starts: the instance subnet's
 * blackhole route, and with SLIPWAY_RUNTIME_DRIVER=docker (`engine` given) the container
 * subnet's too (SLIPWAY_CONTAINER_SUBNET): the edge dials container addresses it saved the same
 * way. Host-side only; the engine is not asked anything.
 */
export async function prepareRuntimeNetworks(config: SlipwayConfig, engine: EngineApi | null, print: (line: string) => void): Promise<void> {
  const runtime = createRuntimeDriver(config, engine);
  await prepareInstanceNetwork(runtime, print);
}

/**
 * Prepares the instance network (the subnet's blackhole route) before the edge starts: an edge
 * serves the instance addresses it saved, and with isolated networking those are 10.x
 * addresses that, without the route, a connect would send off the host once their instances
 * are gone. So where networking is isolated a failure stops `up`, as it stops the agent's
 * instance starts; with plain processes (loopback addresses, nothing to prepare) it only warns.
 * The container network (`images`, the docker driver's) is always isolated.
 */
export async function prepareInstanceNetwork(
  runtime: { local: PreparableDriver; images: PreparableDriver | null },
  print: (line: string) => void,
): Promise<void> {
  await prepareOne(runtime.local, 'instance network', print);
  if (runtime.images) await prepareOne(runtime.images, 'container network (SLIPWAY_CONTAINER_SUBNET)', print);
}

async function prepareOne(driver: PreparableDriver, what: string, print: (line: string) => void): Promise<void> {
  try {
    await driver.prepare();
  } catch (err) {
    if (driver.capabilities.isolatedNetwork) {
      throw new SlipwayError('isolation_unavailable', `could not prepare the ${what} (its blackhole route), so the edge cannot start safely: ${(err as Error).message}`, { cause: err });
    }
    print(`slipway: could not prepare the ${what} before the edge: ${(err as Error).message}`);
  }
}

/**
 * The edge a previous `up` left running keeps serving: adopted when it runs this build, else
 * stopped (it drains its requests) and replaced. Its port is free only once it has exited, so a
 * replacement leaves a gap of one edge start-up; handing the listening socket over is not built.
 */
async function startOrAdoptEdge(supervisor: Supervisor, spec: ChildSpec, at: { config: SlipwayConfig; print: (line: string) => void }): Promise<void> {
  const left = await findLeftEdge(homePaths(at.config.home).edge, at.config.home);
  if (left?.sameBuild) {
    at.print(`slipway: adopting the edge left running (pid ${left.pid})`);
    return supervisor.adopt(spec, left.pid);
  }
  if (left) {
    at.print(`slipway: replacing the edge left running (pid ${left.pid}, version ${left.version}): it runs other code than this up`);
    await stopProcess(left.pid);
  }
  return supervisor.start(spec);
}
