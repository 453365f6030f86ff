import { readFile, writeFile } from 'node:fs/promises';
import { SlipwayError } from '../core/errors.js';
import { processAlive } from '../util/process-alive.js';
import { waitFor } from '../util/wait-for.js';
import { destroyRuntime } from './agent-startup.js';
import { removeLeftBuildNetwork } from './build-isolation.js';
import { homePaths, type SlipwayConfig } from './config.js';
import { findLeftEdge, runsSlipwayCommand } from './edge-record.js';
import { stopProcess } from './stop-process.js';
import { stopAppsMarker } from './up.js';

/** How long a killed `up` that is still exiting gets before its lock counts as another's. */
const EXITING_GRACE_MS = 3000;

/** Options for {@link runDown}. */
export interface DownOptions {
  /** Stop the apps and the edge too, and clean the host (default: they keep running). */
  stopApps: boolean;
}

/**
 * `slipway down`: stops the `slipway up` running on this home (as Ctrl-C would), waiting for
 * it to exit. By default the edge and the apps keep running for the next `up`; with
 * `stopApps` they are stopped too and the host is cleaned, also when `up` is no longer running
 * but left them. A lock whose live pid is not `slipway up` for this home is refused, never
 * signalled.
 */
export async function runDown(config: SlipwayConfig, options: DownOptions, print: (line: string) => void): Promise<void> {
  const paths = homePaths(config.home);
  const pid = Number((await readFile(paths.upLock, 'utf8').catch(() => '')).trim());
  let alive = Number.isInteger(pid) && pid > 0 && processAlive(pid);
  // A lock left by a crashed `up` may name a pid the system has since given to another process.
  // Or the `up` was killed a moment ago and is still exiting (its command line already gone):
  // it gets a moment to be gone before the lock counts as someone else's.
  if (alive && !(await runsSlipwayCommand(pid, 'up', config.home))) {
    alive = !(await waitFor(() => !processAlive(pid), { timeoutMs: EXITING_GRACE_MS, intervalMs: 50 }).then(() => true, () => false));
  }
  if (alive && !(await runsSlipwayCommand(pid, 'up', config.home))) {
    throw new SlipwayError('state_locked', `${paths.upLock} names pid ${pid}, which is not slipway up for ${config.home} (a lock left by a crash, its pid reused): not signalling it. Remove the lock if no slipway up runs for this home.`, { details: { pid, lock: paths.upLock } });
  }
  if (alive) {
    if (options.stopApps) await writeFile(stopAppsMarker(config.home), `${process.pid}\n`, { mode: 0o600 });
    print(`Stopping slipway up (pid ${pid})${options.stopApps ? ' with its apps' : ''} …`);
    process.kill(pid, 'SIGTERM');
    // `up` stops its processes one by one, each with a grace; with the apps, their drains too.
    await waitFor(() => !processAlive(pid), { timeoutMs: 120_000, intervalMs: 100, description: `slipway up (pid ${pid}) to exit` });
    print('slipway up stopped.');
    return;
  }
  if (!options.stopApps) {
    print(`slipway up is not running for ${config.home}; apps and the edge left running stay (add --stop-apps to stop them).`);
    return;
  }
  const edge = await findLeftEdge(paths.edge, config.home);
  if (edge) {
    print(`Stopping the edge left running (pid ${edge.pid}) …`);
    await stopProcess(edge.pid);
  }
  print('Stopping every instance and cleaning the host …');
  await destroyRuntime(config);
  // A server that crashed left its build network too (a running one removes it on stop).
  await removeLeftBuildNetwork(config);
  print('Stopped.');
}
