import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../util/process-alive.js';

/** One process the supervisor keeps running. */
export interface ChildSpec {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Resolves when the child is ready to serve; rejects when it will not become so. */
  ready?: (signal: AbortSignal) => Promise<void>;
}

/** Options for {@link Supervisor.stop}. */
export interface StopOptions {
  /** SIGTERM → SIGKILL; default 10 s. */
  graceMs?: number;
  /**
   * Children left running (the edge, when `up` stops without its apps): each is told over its
   * IPC channel to outlive it (`{ type: 'detach' }`, answered `{ type: 'detached' }`) and let go.
   * One that does not answer in time is stopped like the others.
   */
  leave?: readonly string[];
}

/** The detach handshake over a child's IPC channel (process-commands.ts answers it). */
export const DETACH_MESSAGE = { type: 'detach' } as const;
/** A child's answer to {@link DETACH_MESSAGE}: it will not exit when the channel closes. */
export const DETACHED_MESSAGE = { type: 'detached' } as const;

/** Delays between restarts of a child that keeps exiting. */
const RESTART_BACKOFF_MS = [1000, 2000, 5000, 30_000];
/** A child that ran this long is healthy again: its backoff starts over. */
const HEALTHY_AFTER_MS = 60_000;
/** How often an adopted child (not ours, so no exit event) is checked for life. */
const ADOPTED_POLL_MS = 250;
/** How long a child has to answer the detach message. */
const DETACH_TIMEOUT_MS = 3_000;

/** A supervised process: one we spawned, or one a previous `up` left running and we adopted. */
interface Child {
  spec: ChildSpec;
  pid: number;
  /** Ours: the handle with its IPC channel; null for an adopted process. */
  proc: ChildProcess | null;
  startedAt: number;
  failures: number;
  exited: Promise<void>;
  gone: boolean;
}

/**
 * Runs child processes in the foreground, restarts one that exits unexpectedly (with backoff),
 * and stops them, in reverse start order, on `stop()`. Each child's output goes to
 * `<logDir>/<name>.log`, written by the child itself (so one left running keeps logging after
 * `up` is gone). Children get an IPC channel and exit when it closes, so killing the supervisor
 * never leaves orphans behind; only a child explicitly left by {@link stop} outlives it.
 */
export class Supervisor {
  private readonly children = new Map<string, Child>();
  private stopping = false;

  constructor(private readonly logDir: string, private readonly onNotice: (line: string) => void) {}

  /** Starts a child and waits until it is ready. */
  async start(spec: ChildSpec, failures = 0): Promise<void> {
    await mkdir(this.logDir, { recursive: true });
    const [cmd, ...args] = spec.argv;
    const log = openSync(join(this.logDir, `${spec.name}.log`), 'a', 0o600);
    let proc: ChildProcess;
    try {
      proc = spawn(cmd!, args, { env: spec.env, stdio: ['ignore', log, log, 'ipc'] });
    } finally {
      closeSync(log);
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const entry: Child = { spec, pid: proc.pid ?? 0, proc, startedAt: Date.now(), failures, exited, gone: false };
    this.children.set(spec.name, entry);
    const failed = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => {
        reject(new Error(`${spec.name} exited (${signal ?? code}) before it was ready; see ${join(this.logDir, spec.name + '.log')}`));
        this.onExit(entry, signal ?? `code ${code}`);
      });
    });
    failed.catch(() => undefined);
    await this.whenReady(spec, failed);
  }

  /**
   * Supervises `pid`, a child a previous `up` left running, as if it were `spec`'s: it is
   * checked for life and, when it exits, `spec` is started in its place (with the usual backoff).
   * Waits for `spec.ready` like {@link start}.
   */
  async adopt(spec: ChildSpec, pid: number): Promise<void> {
    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const entry: Child = { spec, pid, proc: null, startedAt: Date.now(), failures: 0, exited, gone: false };
    this.children.set(spec.name, entry);
    const failed = new Promise<never>((_, reject) => {
      const timer = setInterval(() => {
        if (processAlive(pid)) return;
        clearInterval(timer);
        markExited();
        reject(new Error(`${spec.name} (adopted, pid ${pid}) exited before it was ready`));
        this.onExit(entry, 'exited');
      }, ADOPTED_POLL_MS);
      timer.unref();
    });
    failed.catch(() => undefined);
    await this.whenReady(spec, failed);
  }

  private async whenReady(spec: ChildSpec, failed: Promise<never>): Promise<void> {
    if (!spec.ready) return;
    const abort = new AbortController();
    try {
      await Promise.race([spec.ready(abort.signal), failed]);
    } finally {
      abort.abort();
    }
  }

  private onExit(entry: Child, how: string): void {
    entry.gone = true;
    const name = entry.spec.name;
    if (this.stopping) return;
    const ranFor = Date.now() - entry.startedAt;
    const failures = ranFor > HEALTHY_AFTER_MS ? 0 : entry.failures + 1;
    const delay = RESTART_BACKOFF_MS[Math.min(failures, RESTART_BACKOFF_MS.length) - 1] ?? 0;
    this.onNotice(`${name} exited (${how}); restarting in ${delay / 1000} s`);
    setTimeout(() => {
      if (this.stopping) return;
      this.start(entry.spec, failures).catch((err: Error) => this.onNotice(`${name} failed to restart: ${err.message}`));
    }, delay).unref();
  }

  /**
   * Stops every child (SIGTERM, then SIGKILL after the grace), newest first, except those named
   * in `leave`, which are told to outlive the supervisor and let go. Returns the names left.
   */
  async stop(options: StopOptions = {}): Promise<string[]> {
    this.stopping = true;
    const graceMs = options.graceMs ?? 10_000;
    const left: string[] = [];
    for (const child of [...this.children.values()].reverse()) {
      if (child.gone) continue;
      if (options.leave?.includes(child.spec.name) && (await this.letGo(child))) {
        left.push(child.spec.name);
        continue;
      }
      this.signal(child, 'SIGTERM');
      const timer = setTimeout(() => this.signal(child, 'SIGKILL'), graceMs);
      await child.exited;
      clearTimeout(timer);
    }
    return left;
  }

  /** The detach handshake; true once the child promised to outlive us (adopted ones already do). */
  private async letGo(child: Child): Promise<boolean> {
    const proc = child.proc;
    if (proc === null) return true;
    if (!proc.connected) return false;
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), DETACH_TIMEOUT_MS);
      proc.on('message', (message: unknown) => {
        if ((message as { type?: string } | null)?.type !== DETACHED_MESSAGE.type) return;
        clearTimeout(timer);
        resolve(true);
      });
      proc.once('exit', () => resolve(false));
    });
    proc.send(DETACH_MESSAGE);
    if (!(await answered)) return false;
    proc.disconnect();
    proc.unref();
    return true;
  }

  private signal(child: Child, signal: NodeJS.Signals): void {
    try {
      if (child.proc !== null) child.proc.kill(signal);
      else process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
}
