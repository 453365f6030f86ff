/**
 * The app's own boot time, the baseline for publish → promoted: from spawning `node server.js`
 * directly (no platform, no sandbox) to its first 200 on loopback, polled every 2 ms.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { serverJs } from './dynamic-app.js';
import { now } from './edge-probe.js';
import { stopChild } from './procs.js';

const POLL_MS = 2;
const BOOT_TIMEOUT_MS = 10_000;

/** Options of {@link measureAppBoot}. */
export interface AppBootOptions {
  /** A scratch folder for `server.js`. */
  dir: string;
  runs: number;
  warmups: number;
  freePort: () => Promise<number>;
  cleanup: Cleanup;
}

function answers200(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 500 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Milliseconds from spawn to first 200, one per measured run. */
export async function measureAppBoot(o: AppBootOptions): Promise<number[]> {
  await writeFile(join(o.dir, 'server.js'), serverJs('boot'));
  const samples: number[] = [];
  for (let i = 0; i < o.warmups + o.runs; i++) {
    const port = await o.freePort();
    const t0 = now();
    const child = spawn(process.execPath, ['server.js'], { cwd: o.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PORT: String(port) }, stdio: 'ignore' });
    o.cleanup.add('stop the boot-time app', () => stopChild(child));
    try {
      while (!(await answers200(port))) {
        if (child.exitCode !== null) throw new Error(`node server.js exited with ${child.exitCode} before answering`);
        if (now() - t0 > BOOT_TIMEOUT_MS) throw new Error(`node server.js did not answer within ${BOOT_TIMEOUT_MS} ms`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      if (i >= o.warmups) samples.push(now() - t0);
    } finally {
      await stopChild(child);
    }
  }
  return samples;
}
