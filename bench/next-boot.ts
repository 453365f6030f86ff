/**
 * The Next.js release's own boot, the floor under the platform's start: the release the agent
 * unpacked, copied aside, started with a run command exactly as the instance runs it
 * (`/bin/sh -c <command>`, `PORT` set) but with no platform and no sandbox, from spawn to the
 * first 200 for `/` on loopback. Commands are measured in turn, run after run, so each sees
 * the same machine.
 */
import { spawn } from 'node:child_process';
import { cp, readdir, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { now } from './edge-probe.js';

const POLL_MS = 5;
const BOOT_TIMEOUT_MS = 30_000;

/** Options of {@link measureNextBoot}. */
export interface NextBootOptions {
  /** The unpacked release (`server.js` at its root). */
  dir: string;
  /** Run commands by name, as `run_command` would be. */
  commands: Record<string, string>;
  runs: number;
  freePort: () => Promise<number>;
  cleanup: Cleanup;
}

/** Spawn → port open and spawn → first 200, per command, one pair per run. */
export type NextBootSamples = Record<string, Array<{ openMs: number; firstMs: number }>>;

/** One `GET /`: whether a connection was made, and the answer's status (null: none). */
function probe(port: number): Promise<{ connected: boolean; status: number | null }> {
  return new Promise((resolve) => {
    let connected = false;
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ connected: true, status: res.statusCode ?? 0 }));
    });
    req.on('socket', (socket) => socket.once('connect', () => (connected = true)));
    req.on('error', () => resolve({ connected, status: null }));
    req.end();
  });
}

/**
 * Copies the agent's unpacked Next.js release (the folder under `<home>/agent/releases` with a
 * `server.js`) to `to`, so the agent's sweep cannot remove it while it is measured.
 */
export async function copyNextRelease(home: string, to: string): Promise<string> {
  const root = join(home, 'agent', 'releases');
  for (const name of await readdir(root)) {
    const dir = join(root, name);
    if (await stat(join(dir, 'server.js')).then(() => true, () => false)) {
      await cp(dir, to, { recursive: true, verbatimSymlinks: true });
      return to;
    }
  }
  throw new Error(`no unpacked release with a server.js under ${root}`);
}

/** Measures each command `runs` times, in turn. */
export async function measureNextBoot(o: NextBootOptions): Promise<NextBootSamples> {
  const samples: NextBootSamples = {};
  for (let i = 0; i < o.runs; i++) {
    for (const [name, command] of Object.entries(o.commands)) {
      const port = await o.freePort();
      const t0 = now();
      // Its own process group: `sh` may leave node as a child, and both must go.
      const child = spawn('/bin/sh', ['-c', command], {
        cwd: o.dir, detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port), HOSTNAME: 'bench-host' },
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const kill = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // Gone already.
        }
      };
      o.cleanup.add('stop the Next.js boot measurement', kill);
      try {
        let openMs = Number.NaN;
        for (;;) {
          const sent = now();
          const answer = await probe(port);
          // The request that connected was sent while the port was open: its send time bounds it.
          if (Number.isNaN(openMs) && answer.connected) openMs = sent - t0;
          if (answer.status === 200) break;
          if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode} before answering`);
          if (now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`${command} did not answer 200 within ${BOOT_TIMEOUT_MS} ms (last: ${answer.status ?? 'no answer'})`);
          if (!answer.connected) await new Promise((r) => setTimeout(r, POLL_MS));
        }
        (samples[name] ??= []).push({ openMs, firstMs: now() - t0 });
      } finally {
        kill();
        await exited;
      }
    }
  }
  return samples;
}
