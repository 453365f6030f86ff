/**
 * A constant request load against the edge from a separate process (bench/load-process.ts),
 * started before a disruption and stopped after it, counting failed requests per time window.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { stopChild } from './procs.js';

/** What the load process is told to do (passed to it as JSON). */
export interface LoadSpec {
  /** Edge port on 127.0.0.1. */
  port: number;
  /** Sent as the Host header. */
  host: string;
  path: string;
  /** Requests per second, all connections together. */
  rate: number;
  connections: number;
  /** Width of a counting window. */
  windowMs: number;
  /** Upper bounds: the process stops by itself at the first one reached. */
  maxSeconds: number;
  maxRequests: number;
  /** A request with no answer after this long is a failure. */
  timeoutMs: number;
}

/** The requests sent in one window (by send time, epoch ms) and how many of them failed. */
export interface LoadWindow {
  start: number;
  sent: number;
  failed: number;
}

/** What the load process reports when it stops. */
export interface LoadReport {
  type: 'done';
  startedAt: number;
  stoppedAt: number;
  /** `stop`: asked to; `time` / `count`: a bound was reached first. */
  stoppedBy: 'stop' | 'time' | 'count';
  sent: number;
  failed: number;
  windows: LoadWindow[];
  /** Failure reason (`HTTP 502`, `ECONNRESET`, …) → count. */
  reasons: Record<string, number>;
  firstFailureAt: number | null;
  lastFailureAt: number | null;
  latencyMs: { p50: number; p99: number; max: number };
}

/** A running load. */
export interface Load {
  /** Stops it and returns what it counted. */
  stop(): Promise<LoadReport>;
}

/** Options of {@link startLoad}. */
export interface LoadOptions extends LoadSpec {
  repoRoot: string;
  cleanup: Cleanup;
}

/** Starts the load process; resolves once a first request succeeded (within 20 s). */
export async function startLoad(options: LoadOptions): Promise<Load> {
  const { repoRoot, cleanup, ...spec } = options;
  const argv = ['--import', 'tsx', join(repoRoot, 'bench', 'load-process.ts'), JSON.stringify(spec)];
  const child = spawn(process.execPath, argv, { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  cleanup.add('stop the load process', () => stopChild(child));
  let buffered = '';
  let stderr = '';
  let report: LoadReport | undefined;
  const listeners: Array<() => void> = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let started = false;
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  // A load that already stopped at one of its bounds has closed its stdin: "stop" finds no reader.
  child.stdin.on('error', () => undefined);
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let message: { type?: string };
      try {
        message = JSON.parse(line) as { type?: string };
      } catch {
        continue;
      }
      if (message.type === 'started') started = true;
      if (message.type === 'done') report = message as LoadReport;
      for (const listener of listeners) listener();
    }
  });
  const until = (condition: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (condition()) return finish(resolve);
        if (child.exitCode !== null || child.signalCode !== null) finish(() => reject(new Error(`the load process exited before ${what}\n${stderr}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`the load process: no ${what} within ${timeoutMs} ms\n${stderr}`))), timeoutMs);
      let settled = false;
      const finish = (then: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        listeners.splice(listeners.indexOf(check), 1);
        then();
      };
      listeners.push(check);
      void exited.then(check);
      check();
    });
  try {
    await until(() => started, 20_000, 'successful request');
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return {
    async stop() {
      child.stdin.end('stop\n');
      await until(() => report !== undefined, 10_000, 'report');
      return report!;
    },
  };
}
