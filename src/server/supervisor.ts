import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** One process the supervisor keeps running. */
export interface ChildSpec {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  /** Resolves when the child is ready to serve; rejects when it will not become so. */
  ready?: (signal: AbortSignal) => Promise<void>;
}

/** Delays between restarts of a child that keeps exiting. */
const RESTART_BACKOFF_MS = [1000, 2000, 5000, 30_000];
/** A child that ran this long is healthy again: its backoff starts over. */
const HEALTHY_AFTER_MS = 60_000;

/**
 * Runs child processes in the foreground, restarts one that exits unexpectedly (with backoff),
 * and stops them all, in reverse start order, on `stop()`. Each child's output goes to
 * `<logDir>/<name>.log`. Children get an IPC channel and exit when it closes, so killing the
 * supervisor never leaves orphans behind.
 */
export class Supervisor {
  private readonly children = new Map<string, { spec: ChildSpec; proc: ChildProcess; startedAt: number; failures: number }>();
  private readonly logs = new Map<string, WriteStream>();
  private stopping = false;

  constructor(private readonly logDir: string, private readonly onNotice: (line: string) => void) {}

  /** Starts a child and waits until it is ready. */
  async start(spec: ChildSpec, failures = 0): Promise<void> {
    await mkdir(this.logDir, { recursive: true });
    let log = this.logs.get(spec.name);
    if (!log) this.logs.set(spec.name, (log = createWriteStream(join(this.logDir, `${spec.name}.log`), { flags: 'a' })));
    const [cmd, ...args] = spec.argv;
    const proc = spawn(cmd!, args, { env: spec.env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    const entry = { spec, proc, startedAt: Date.now(), failures };
    this.children.set(spec.name, entry);
    const exited = new Promise<never>((_, reject) => {
      proc.once('exit', (code, signal) => {
        reject(new Error(`${spec.name} exited (${signal ?? code}) before it was ready; see ${join(this.logDir, spec.name + '.log')}`));
        this.onExit(entry, signal ?? `code ${code}`);
      });
    });
    exited.catch(() => undefined);
    if (spec.ready) {
      const abort = new AbortController();
      try {
        await Promise.race([spec.ready(abort.signal), exited]);
      } finally {
        abort.abort();
      }
    }
  }

  private onExit(entry: { spec: ChildSpec; startedAt: number; failures: number }, how: string): void {
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

  /** Stops every child (SIGTERM, then SIGKILL after `graceMs`), newest first. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    for (const { proc } of [...this.children.values()].reverse()) {
      if (proc.exitCode !== null || proc.signalCode !== null) continue;
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    }
    for (const log of this.logs.values()) log.end();
  }
}
