import type { Readable } from 'node:stream';
import { SlipwayError, type ErrorCode } from '../core/errors.js';
import { spawnInGroup, superviseGroup, signalGroup } from './process-group.js';
import { TailBuffer } from './tail-buffer.js';

/** Options for {@link runCommand}. */
export interface RunCommandOptions {
  cwd?: string;
  /** The complete environment of the command; nothing is inherited when given. */
  env?: NodeJS.ProcessEnv;
  /** Kill the command's whole process group after this long. */
  timeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when killing (default 5 s). */
  killGraceMs?: number;
  /** Written to the command's stdin, which is otherwise closed. */
  input?: string | Buffer;
  /** Most bytes kept of stdout and of stderr each (default 16 MiB); more fails the command. */
  maxOutputBytes?: number;
  /** How many trailing bytes of each stream an error carries (default 4 KiB). */
  tailBytes?: number;
  /** The error code thrown on failure (default `internal_error`). */
  failureCode?: ErrorCode;
  /** Run as this user and group (needs root). */
  user?: { uid: number; gid: number };
}

/** What a successful command printed. */
export interface CommandResult {
  exitCode: 0;
  stdout: string;
  stderr: string;
  durationMs: number;
}

interface Collected {
  chunks: Buffer[];
  bytes: number;
  tail: TailBuffer;
}

/**
 * Runs an argument vector (never a shell string) in its own process group and returns its
 * output. A non-zero exit, a signal, a timeout or a failure to start throws a SlipwayError whose
 * details are `{ argv, exitCode, signal, timedOut, stdoutTail, stderrTail }`. Do not put secrets
 * in `argv`: it is quoted in errors. Pass them through `env` or `input`.
 */
export async function runCommand(argv: readonly string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const maxOutput = options.maxOutputBytes ?? 16 * 1024 * 1024;
  const tailBytes = options.tailBytes ?? 4096;
  const code = options.failureCode ?? 'internal_error';
  const out: Collected = { chunks: [], bytes: 0, tail: new TailBuffer(tailBytes) };
  const err: Collected = { chunks: [], bytes: 0, tail: new TailBuffer(tailBytes) };
  let overflow = false;
  const fail = (message: string, extra: Record<string, unknown>, cause?: unknown): SlipwayError =>
    new SlipwayError(code, message, {
      cause,
      details: { argv: [...argv], stdoutTail: out.tail.toString(), stderrTail: err.tail.toString(), ...extra },
    });

  let child;
  try {
    child = spawnInGroup(argv, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      user: options.user,
    });
  } catch (cause) {
    throw fail(`could not start ${argv[0]}: ${(cause as Error).message}`, { exitCode: null }, cause);
  }
  const collect = (stream: Readable | null, into: Collected): void => {
    stream?.on('data', (chunk: Buffer) => {
      into.tail.push(chunk);
      into.bytes += chunk.length;
      if (into.bytes <= maxOutput) into.chunks.push(chunk);
      else if (!overflow && child.pid !== undefined) {
        overflow = true;
        signalGroup(child.pid, 'SIGKILL');
      }
    });
  };
  collect(child.stdout, out);
  collect(child.stderr, err);
  if (options.input !== undefined && child.stdin) {
    // A command that exits without reading its input closes the pipe: that is not our error.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  }

  let exit;
  try {
    exit = await superviseGroup(child, { timeoutMs: options.timeoutMs, killGraceMs: options.killGraceMs });
  } catch (cause) {
    throw fail(`could not start ${argv[0]}: ${(cause as Error).message}`, { exitCode: null }, cause);
  }
  const facts = { exitCode: exit.exitCode, signal: exit.signal, timedOut: exit.timedOut };
  if (exit.timedOut) throw fail(`${argv[0]} timed out after ${options.timeoutMs} ms`, facts);
  if (overflow) throw fail(`${argv[0]} printed more than ${maxOutput} bytes`, facts);
  if (exit.exitCode !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    throw fail(`${argv[0]} ${how}`, facts);
  }
  return {
    exitCode: 0,
    stdout: Buffer.concat(out.chunks).toString('utf8'),
    stderr: Buffer.concat(err.chunks).toString('utf8'),
    durationMs: exit.durationMs,
  };
}
