/** Starts bench/node-floor.ts as its own process, pinned like the edge, for the comparison. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { stopChild } from './procs.js';

/** Options of {@link startNodeFloor}. */
export interface NodeFloorOptions {
  port: number;
  /** `[taskset, cpuList]` to pin it, or null. */
  pin: [string, string] | null;
  repoRoot: string;
  cleanup: Cleanup;
}

/** Starts the floor server and resolves with its pid once it listens; `cleanup` stops it. */
export async function startNodeFloor(options: NodeFloorOptions): Promise<number> {
  const nodeArgv = [process.execPath, '--import', 'tsx', join(options.repoRoot, 'bench', 'node-floor.ts'), String(options.port)];
  const argv = options.pin ? [options.pin[0], '-c', options.pin[1], ...nodeArgv] : nodeArgv;
  // stdin stays open as a pipe: the floor exits when it closes, so it cannot outlive the bench.
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  options.cleanup.add('stop the node:http floor', () => stopChild(child));
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node:http floor did not start within 30 s\n${out}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`node:http floor exited with ${signal ?? code}\n${out}`));
    });
  });
  return child.pid!;
}
