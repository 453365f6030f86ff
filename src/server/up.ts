import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { homePaths, type SlipwayConfig } from './config.js';
import type { DockerEngine } from '../runtime/docker/engine.js';
import { destroyRuntime } from './agent-startup.js';
import { startContainerEngine } from './container-engine.js';
import { acquirePidLock } from './pid-lock.js';
import { Supervisor } from './supervisor.js';
import { waitForHttp } from './wait-http.js';

/** How to start this same program again as a child (`node [--import tsx] <entry>`). */
export function selfArgv(command: string): string[] {
  return [process.execPath, ...process.execArgv, process.argv[1]!, command];
}

/**
 * `slipway up`: the server, the edge and the agent as separate processes under one supervisor,
 * in the foreground, until Ctrl-C. A second `up` on the same SLIPWAY_HOME is refused.
 */
export async function runUp(config: SlipwayConfig, print: (line: string) => void): Promise<void> {
  const paths = homePaths(config.home);
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  const lock = await acquirePidLock(paths.upLock, `slipway up for ${config.home}`);
  const logDir = join(config.home, 'logs');
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const supervisor = new Supervisor(logDir, (line) => print(`slipway: ${line}`));
  const env = { ...process.env, SLIPWAY_HOME: config.home };
  const apiHost = config.apiHost === '0.0.0.0' ? '127.0.0.1' : config.apiHost;
  const edgeHost = config.httpHost === '0.0.0.0' ? '127.0.0.1' : config.httpHost;
  let stopping: Promise<void> | undefined;
  // Kept while it starts: a Ctrl-C then must wait for it and stop it, not leave dockerd running.
  let engineStart: Promise<DockerEngine | null> = Promise.resolve(null);
  // Stopping `up` stops the apps too (unlike an agent restart, which leaves them running), and
  // the Docker engine last, once its containers are gone.
  const stop = () => (stopping ??= supervisor.stop()
    .then(() => engineStart.catch(() => null))
    .then((engine) => destroyRuntime(config, engine).catch((err: Error) => print(`slipway: could not stop every instance: ${err.message}`)))
    .then(() => lock.release()));
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
    }
    await supervisor.start({
      name: 'server', argv: selfArgv('server'), env,
      // The first start creates the embedded database, which takes several seconds.
      ready: (signal) => waitForHttp(`http://${apiHost}:${config.apiPort}/api/v1/healthz`, { timeoutMs: 120_000, signal }),
    });
    await supervisor.start({
      name: 'edge', argv: selfArgv('edge'), env,
      ready: (signal) => waitForHttp(`http://${edgeHost}:${config.httpPort}/_slipway/health`, { timeoutMs: 30_000, signal }),
    });
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
    `  Admin key:   ${paths.credentials}`,
    `  Logs:        ${logDir}`,
    '',
    'Publish a folder:  npx slipway publish ./my-site --deployment my-site --wait',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'));
  await new Promise<never>(() => undefined);
}
