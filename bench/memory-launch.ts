/**
 * Starts `slipway up` from a built copy the way a user would (`node bin/slipway.mjs up`,
 * `npm run up` or `npx slipway up`) in a temp home on free ports, in its own process group, and
 * stops it again: the whole group, then whatever still names the home in its environment, and
 * what the home made on the host (bench/host-cleanup.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type SlipwayClient } from '../src/sdk/index.js';
import { waitFor } from '../src/util/wait-for.js';
import { freePort } from '../test/support/platform.js';
import type { Cleanup } from './cleanup.js';
import { claimHostNames, cleanHostOf } from './host-cleanup.js';

/** How `up` is started, from the copy's root. */
export type Launcher = 'node bin/slipway.mjs up' | 'npm run up' | 'npx slipway up';

/** A running `up`. */
export interface LaunchedUp {
  /** The launcher's pid: the top of the process tree. */
  pid: number;
  home: string;
  httpPort: number;
  client: SlipwayClient;
  stop(): Promise<void>;
}

const ARGV: Record<Launcher, string[]> = {
  'node bin/slipway.mjs up': [process.execPath, 'bin/slipway.mjs', 'up'],
  'npm run up': ['npm', 'run', 'up'],
  'npx slipway up': ['npx', 'slipway', 'up'],
};

/** Starts `up` from `root` with `launcher`; `databaseUrl` selects PostgreSQL. */
export async function launchUp(options: { root: string; launcher: Launcher; databaseUrl?: string; cleanup: Cleanup }): Promise<LaunchedUp> {
  const home = await mkdtemp(join(tmpdir(), 'slipway-bench-mem-'));
  const names = claimHostNames('m');
  const httpPort = await freePort();
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SLIPWAY_HOME: home, SLIPWAY_API_PORT: String(apiPort), SLIPWAY_HTTP_PORT: String(httpPort), SLIPWAY_LOG_LEVEL: 'warn',
    // Not `up`'s 8443, which another `up` on the host may hold.
    SLIPWAY_HTTPS_PORT: String(await freePort()),
    ...names.env,
    ...(options.databaseUrl ? { SLIPWAY_DATABASE_URL: options.databaseUrl } : {}),
  };
  delete env.SLIPWAY_API_URL;
  delete env.SLIPWAY_TOKEN;
  const [cmd, ...args] = ARGV[options.launcher];
  const child = spawn(cmd!, args, { cwd: options.root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    const group = child.pid!;
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-group, s);
      } catch {
        // The group is gone.
      }
    };
    if (child.exitCode === null && child.signalCode === null) {
      signal('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
    signal('SIGKILL');
    try {
      // `up` leaves the apps and the edge running when it stops: stop them, clean the host.
      await cleanHostOf(home, env);
    } finally {
      await rm(home, { recursive: true, force: true });
      names.release();
    }
  })());
  options.cleanup.add(`stop ${options.launcher}`, stop);
  try {
    await waitFor(() => out.includes('Slipway is up.') || child.exitCode !== null, { timeoutMs: 300_000, intervalMs: 100, description: options.launcher });
    if (!out.includes('Slipway is up.')) throw new Error(`${options.launcher} failed:\n${out.slice(-2000)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const credentials = JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8')) as { token: string };
  return { pid: child.pid!, home, httpPort, client: createClient({ baseUrl: `http://127.0.0.1:${apiPort}`, token: credentials.token }), stop };
}
