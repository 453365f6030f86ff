/** Runs wrk (Debian's `wrk` package) against one URL and parses what it prints. */
import { spawn } from 'node:child_process';
import type { Cleanup } from './cleanup.js';

/** What one wrk run measured. */
export interface WrkResult {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Responses that were neither 2xx nor 3xx. */
  non2xx: number;
  /** Connect, read, write and timeout errors together. */
  socketErrors: number;
}

/** Options of {@link runWrk}. */
export interface WrkOptions {
  wrk: string;
  url: string;
  /** Sent as the Host header. */
  host: string;
  seconds: number;
  connections: number;
  threads: number;
  /** `[taskset, cpuList]` to pin wrk, or null. */
  pin: [string, string] | null;
  cleanup: Cleanup;
  /** Further request headers (`Name: value`), e.g. `Connection: close` for a connection per request. */
  headers?: string[];
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(value: string, unit: string): number {
  const factor = UNIT_MS[unit];
  if (factor === undefined) throw new Error(`unknown wrk time unit "${unit}"`);
  return Number(value) * factor;
}

/** Parses wrk's `--latency` report. Throws when the essential lines are missing. */
export function parseWrkOutput(text: string): WrkResult {
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m|h),/.exec(text);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m|h)/m.exec(text);
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m|h)/m.exec(text);
  if (!done || !rps || !p50 || !p99) throw new Error(`cannot parse wrk output:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requests: Number(done[1]),
    seconds: toMs(done[2]!, done[3]!) / 1000,
    requestsPerSecond: Number(rps[1]),
    latencyP50Ms: toMs(p50[1]!, p50[2]!),
    latencyP99Ms: toMs(p99[1]!, p99[2]!),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/** Runs wrk once (killed if it overruns its duration by 15 s) and parses its report. */
export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const wrkArgs = [
    `-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency',
    '-H', `Host: ${options.host}`, ...(options.headers ?? []).flatMap((h) => ['-H', h]), options.url,
  ];
  const argv = options.pin ? [options.pin[0], '-c', options.pin[1], options.wrk, ...wrkArgs] : [options.wrk, ...wrkArgs];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    options.cleanup.add('stop wrk', () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 15) * 1000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${argv.join(' ')} exited with ${signal ?? code}:\n${out.trim()}`));
      try {
        resolve(parseWrkOutput(out));
      } catch (err) {
        reject(err);
      }
    });
  });
}
