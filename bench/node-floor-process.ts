/** Starts bench scripts (the node:http floor, the proxying edge) as their own pinned processes. */
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

/** Options of {@link startNodeScript}. */
export interface NodeScriptOptions extends Omit<NodeFloorOptions, 'port'> {
  /** For messages: what the script is. */
  name: string;
  /** File under `bench/`; it must print "listening" once ready and exit when stdin closes. */
  script: string;
  args: string[];
}

/** Starts the floor server and resolves with its pid once it listens; `cleanup` stops it. */
export function startNodeFloor(options: NodeFloorOptions): Promise<number> {
  return startNodeScript({ ...options, name: 'node:http floor', script: 'node-floor.ts', args: [String(options.port)] });
}

/** Starts `bench/<script>` under tsx and resolves with its pid once it prints "listening". */
export async function startNodeScript(options: NodeScriptOptions): Promise<number> {
  const nodeArgv = [process.execPath, '--import', 'tsx', join(options.repoRoot, 'bench', options.script), ...options.args];
  const argv = options.pin ? [options.pin[0], '-c', options.pin[1], ...nodeArgv] : nodeArgv;
  // stdin stays open as a pipe: the script exits when it closes, so it cannot outlive the bench.
  const child = spawn(argv[0]!, argv.slice(1), { cwd: options.repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  options.cleanup.add(`stop the ${options.name}`, () => stopChild(child));
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${options.name} did not start within 30 s\n${out}`)), 30_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${options.name} exited with ${signal ?? code}\n${out}`));
    });
  });
  return child.pid!;
}
