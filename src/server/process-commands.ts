import type { Command } from 'commander';
import { startAgentProcess } from './agent-startup.js';
import { loadConfig } from './config.js';
import { startEdge } from './edge-process.js';
import { startServer } from './server-process.js';
import { runUp } from './up.js';
import { closeInheritedFds } from '../util/inherited-fds.js';

/**
 * Keeps a started process alive until SIGINT, SIGTERM, or its supervisor going away (the IPC
 * channel closing), then closes it cleanly and exits.
 */
function runUntilStopped(close: () => Promise<void>): Promise<never> {
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
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    if (process.connected) process.on('disconnect', shutdown);
  });
}

/**
 * Adds `up`, `server`, `edge` and `agent`: the commands that run Slipway itself. Each first
 * closes descriptors it inherited without close-on-exec, which would otherwise pass on to every
 * build and app it starts (a shell's or a test harness's pipe, say).
 */
export function registerProcessCommands(program: Command, print: (line: string) => void): void {
  program.hook('preAction', (_program, command) => {
    if (['up', 'server', 'edge', 'agent'].includes(command.name())) closeInheritedFds();
  });
  program
    .command('up')
    .description('start the server, the edge and the agent in the foreground (embedded defaults)')
    .action(async () => runUp(loadConfig(), print));
  program
    .command('server')
    .description('run the control plane: API, store, builds')
    .action(async () => {
      const server = await startServer(loadConfig());
      await runUntilStopped(server.close);
    });
  program
    .command('edge')
    .description('run the HTTP edge: serves deployments by host name')
    .action(async () => {
      const edge = await startEdge(loadConfig());
      print(`slipway edge listening on port ${edge.port}`);
      await runUntilStopped(() => edge.close());
    });
  program
    .command('agent')
    .description('run the host agent (runtime instances)')
    .action(async () => {
      const agent = await startAgentProcess(loadConfig());
      await runUntilStopped(agent.close);
    });
}
