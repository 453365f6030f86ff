/** Starts bench/scale-edge-process.ts and talks to it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../test/support/platform.js';
import { stopChild } from './procs.js';

/** Event-loop delay inside the edge since the last reset, in milliseconds. */
export interface LoopDelay {
  p50: number;
  p99: number;
  max: number;
  count: number;
}

/** A running scale edge. */
export interface ScaleEdge {
  port: number;
  /** `start()` inside the process: read the saved table, restore it, listen. */
  startMs: number;
  /** CPU time of that `start()`. */
  startCpuMs: number;
  /** Process spawn → listening, as the bench saw it (includes Node and tsx start-up). */
  spawnMs: number;
  /** Routes served when it started listening. */
  startRoutes: number;
  resetDelay(): Promise<void>;
  delay(): Promise<LoopDelay>;
  state(): Promise<{ revision: number; routes: number; rss: number }>;
  stop(): Promise<void>;
}

/** Forks the edge on `port` with `stateDir`, following `serverUrl`; resolves once it listens. */
export async function startScaleEdge(o: { port: number; stateDir: string; serverUrl: string; token: string }): Promise<ScaleEdge> {
  const t0 = performance.now();
  const child: ChildProcess = fork(join(repoRoot, 'bench', 'scale-edge-process.ts'), [String(o.port), o.stateDir, o.serverUrl, o.token], {
    execArgv: ['--import', 'tsx'], cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let next = 0;
  const pending = new Map<number, (reply: Record<string, unknown>) => void>();
  const listening = new Promise<{ startMs: number; startCpuMs: number; routes: number }>((resolve, reject) => {
    child.on('message', (m: Record<string, unknown>) => {
      if (m.type === 'listening') resolve(m as unknown as { startMs: number; startCpuMs: number; routes: number });
      const reply = pending.get(m.id as number);
      pending.delete(m.id as number);
      reply?.(m);
    });
    child.once('exit', (code) => reject(new Error(`the scale edge exited with ${code} before listening`)));
  });
  const ask = <T>(cmd: string): Promise<T> => new Promise((resolve) => {
    const id = ++next;
    pending.set(id, (reply) => resolve(reply as T));
    child.send({ cmd, id });
  });
  let started: { startMs: number; startCpuMs: number; routes: number };
  try {
    started = await listening;
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return {
    port: o.port,
    startMs: started.startMs,
    startCpuMs: started.startCpuMs,
    spawnMs: performance.now() - t0,
    startRoutes: started.routes,
    resetDelay: () => ask('delay-reset'),
    delay: () => ask('delay'),
    state: () => ask('state'),
    stop: () => stopChild(child),
  };
}
