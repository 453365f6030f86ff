import type { Command } from 'commander';
import { loadConfig } from './config.js';
import { closeInheritedFds } from '../util/inherited-fds.js';
import { DETACH_MESSAGE, DETACHED_MESSAGE } from './supervisor.js';

// Each process loads only its own code, when its command runs: the edge and the agent never
// load the API, the store or PGlite, and `up` and the user commands none of them
// (docs/operations.md#memory).
const loadUp = () => import('./up.js');
const loadDown = () => import('./down.js');
const loadServer = () => import('./server-process.js');
const loadEdge = () => import('./edge-process.js');
const loadAgent = () => import('./agent-startup.js');

/**
 * Keeps a started process alive until SIGINT, SIGTERM, or its supervisor going away (the IPC
 * channel closing), then closes it cleanly and exits. With `detachable` (the edge) a supervised
 * process ignores SIGINT (a Ctrl-C reaches the whole process group, and `up` decides whether
 * the edge stops) and, once `up` asks it to outlive it (supervisor.ts, DETACH_MESSAGE), keeps
 * running when the channel closes.
 */
function runUntilStopped(close: () => Promise<void>, options: { detachable?: boolean } = {}): Promise<never> {
  return new Promise<never>(() => {
    let closing = false;
    const shutdown = () => {
      if (closing) return;
      closing = true;
      close().then(() => process.exit(0), (err) => {
        console.error(err);
        process.exit(1);
      });
    };
    const supervised = process.connected;
    // Ignored, not merely unhandled: without a listener Node's default action ends the process.
    if (supervised && options.detachable) process.on('SIGINT', () => undefined);
    else process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    if (!supervised) return;
    let detached = false;
    process.on('disconnect', () => {
      if (!detached) shutdown();
    });
    if (!options.detachable) return;
    process.on('message', (message: unknown) => {
      if ((message as { type?: string } | null)?.type !== DETACH_MESSAGE.type || closing) return;
      detached = true;
      // Left running by `up`: the terminal `up` ran in may close, and its hangup must not end
      // the edge with it.
      process.on('SIGHUP', () => undefined);
      process.send?.(DETACHED_MESSAGE);
    });
  });
}

/**
 * Adds `up`, `down`, `server`, `edge` and `agent`: the commands that run Slipway itself. Each first
 * closes descriptors it inherited without close-on-exec, which would otherwise pass on to every
 * build and app it starts (a shell's or a test harness's pipe, say).
 */
export function registerProcessCommands(program: Command, print: (line: string) => void): void {
  program.hook('preAction', (_program, command) => {
    if (['up', 'server', 'edge', 'agent', 'down'].includes(command.name())) closeInheritedFds();
  });
  program
    .command('up')
    .description('start the server, the edge and the agent in the foreground (embedded defaults)')
    .action(async () => (await loadUp()).runUp(loadConfig(), print));
  program
    .command('down')
    .description('stop the `slipway up` of this home; the edge and the apps keep running unless --stop-apps')
    .option('--stop-apps', 'stop the edge and every instance too, and clean the host (also when up has exited)')
    .action(async (options: { stopApps?: boolean }) => (await loadDown()).runDown(loadConfig(), { stopApps: options.stopApps === true }, print));
  program
    .command('server')
    .description('run the control plane: API, store, builds')
    .action(async () => {
      const server = await (await loadServer()).startServer(loadConfig());
      await runUntilStopped(server.close);
    });
  program
    .command('edge')
    .description('run the HTTP edge: serves deployments by host name')
    .action(async () => {
      const edge = await (await loadEdge()).startEdge(loadConfig());
      print(`slipway edge listening on port ${edge.port}`);
      await runUntilStopped(() => edge.close(), { detachable: true });
    });
  program
    .command('agent')
    .description('run the host agent (runtime instances)')
    .action(async () => {
      const agent = await (await loadAgent()).startAgentProcess(loadConfig());
      await runUntilStopped(agent.close);
    });
}
