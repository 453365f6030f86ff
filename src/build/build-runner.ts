import type { Writable } from 'node:stream';
import { SlipwayError } from '../core/errors.js';
import { signalGroup, spawnInGroup, superviseGroup } from '../util/process-group.js';
import { BuildLog } from './build-log.js';
import { joinsNetns, ROOT_STAGE_ENV, sandboxedArgv, sandboxEnvArgs, type BuildSandbox } from './build-sandbox.js';
import { BUILD_PATH } from './build-path.js';
import { missingToolHint } from './missing-tool.js';

/** Options for {@link runBuildCommand}. */
export interface RunBuildOptions {
  /** The user's own declared build command, run by `/bin/sh -c`. */
  command: string;
  cwd: string;
  /** The deployment's build environment, added to the minimal base (and able to override it). */
  env?: Record<string, string>;
  timeoutMs: number;
  /** Log bytes passed to `onLog` before it is cut off with a note. */
  maxLogBytes: number;
  /** Receives the log as whole lines, as they come. Must not throw. */
  onLog: (chunk: string) => void;
  /** Time between SIGTERM and SIGKILL on timeout (default 5 s). */
  killGraceMs?: number;
  /** Run the command as this unprivileged user (Slipway running as root); `cwd` must be theirs. */
  user?: { uid: number; gid: number };
  /**
   * Run it in this namespace sandbox, with `writable` (the build's work dir) its only writable
   * tree, and in the network namespace `netns` when the sandbox has a build network.
   */
  sandbox?: { config: BuildSandbox; writable: string; netns?: string };
  /** Aborting kills the whole process group at once (server shutdown). */
  signal?: AbortSignal;
}

/** A build command that succeeded. */
export interface BuildRunResult {
  exitCode: 0;
  durationMs: number;
}

/**
 * The whole environment a build sees. Nothing of the server's environment is passed on: it
 * holds Slipway's own settings and credentials (`SLIPWAY_*`, tokens, database URLs), its
 * `PATH` names the checkout's `node_modules/.bin`, its `PWD` and `HOME` say where Slipway
 * lives, and a build runs code from the upload. `PATH` is {@link BUILD_PATH}, to which a
 * builder may prepend its own tool folders through `extra`.
 */
export function buildEnvironment(cwd: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: BUILD_PATH,
    HOME: cwd,
    LANG: 'C.UTF-8',
    CI: '1',
    NODE_ENV: 'production',
    // Tools that honour these print no colours; the log strips whatever others still send.
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    ...extra,
  };
}

/**
 * Runs a user's build command in `cwd`, as `['/bin/sh', '-c', command]`: the command is the
 * user's own, run in their own build, and nothing is ever spliced into it. It runs in its own
 * process group with stdin closed and a scrubbed environment; stdout and stderr stream to
 * `onLog` line by line. On timeout the whole group gets SIGTERM, then SIGKILL, and
 * `build_timeout` is thrown; a non-zero exit throws `build_failed` with
 * `details: { argv, exitCode, signal, logTail }`, its message (and the log) ending in a hint
 * when the output shows a command that was not found (see `missingToolHint`).
 */
export async function runBuildCommand(options: RunBuildOptions): Promise<BuildRunResult> {
  const { command, ...rest } = options;
  return runInGroup(['/bin/sh', '-c', command], 'the build command', rest);
}

/** Options for {@link runBuildStep}: those of {@link runBuildCommand} without the command. */
export type BuildStepOptions = Omit<RunBuildOptions, 'command'>;

/**
 * Runs one of Slipway's own build steps (`npm ci`, `python3 -m venv .venv`) as an argument
 * vector, without a shell, looked up on the build environment's `PATH`. Everything else is as
 * for {@link runBuildCommand}: same isolation, log, timeout and errors, the message naming the
 * step.
 */
export async function runBuildStep(argv: readonly string[], options: BuildStepOptions): Promise<BuildRunResult> {
  return runInGroup(argv, `\`${argv.join(' ')}\``, options);
}

async function runInGroup(argv: readonly string[], what: string, options: BuildStepOptions): Promise<BuildRunResult> {
  const log = new BuildLog(options.maxLogBytes, options.onLog);
  let child;
  try {
    const env = buildEnvironment(options.cwd, options.env);
    const sandbox = options.sandbox;
    const place = sandbox && { cwd: options.cwd, writable: sandbox.writable, netns: sandbox.netns, user: options.user };
    // Joining a network namespace takes root: the argv itself drops to the build user.
    const asRoot = sandbox !== undefined && place !== undefined && joinsNetns(sandbox.config, place);
    child = spawnInGroup(sandbox && place ? sandboxedArgv(sandbox.config, place, argv) : argv, {
      cwd: options.cwd,
      env: asRoot ? { ...ROOT_STAGE_ENV } : env,
      stdio: asRoot ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      user: asRoot ? undefined : options.user,
    });
    if (asRoot) {
      const args = child.stdio[3] as Writable | null;
      // A sandbox that fails before reading its arguments closes the pipe; its exit and log say why.
      args?.on('error', () => {});
      args?.end(sandboxEnvArgs(env));
    }
  } catch (cause) {
    throw new SlipwayError('internal_error', `could not start the build: ${(cause as Error).message}`, { cause });
  }
  child.stdout?.on('data', (data: Buffer) => log.push('stdout', data));
  child.stderr?.on('data', (data: Buffer) => log.push('stderr', data));
  const pid = child.pid;
  const kill = () => {
    if (pid !== undefined) signalGroup(pid, 'SIGKILL');
  };
  options.signal?.addEventListener('abort', kill, { once: true });
  if (options.signal?.aborted) kill();
  let exit;
  try {
    exit = await superviseGroup(child, { timeoutMs: options.timeoutMs, killGraceMs: options.killGraceMs });
  } catch (cause) {
    options.signal?.removeEventListener('abort', kill);
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SlipwayError(missing ? 'build_failed' : 'internal_error', `could not start ${what}: ${(cause as Error).message}`, {
      cause,
      details: { argv: [...argv], exitCode: null, signal: null, logTail: log.tail() },
    });
  }
  options.signal?.removeEventListener('abort', kill);
  log.flush();
  if (options.signal?.aborted) {
    throw new SlipwayError('interrupted', 'the build was stopped because the server is shutting down');
  }
  if (exit.timedOut) {
    throw new SlipwayError('build_timeout', `the build did not finish within ${options.timeoutMs} ms`, {
      details: { argv: [...argv], timeoutMs: options.timeoutMs, logTail: log.tail() },
    });
  }
  if (exit.exitCode !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
    const logTail = log.tail();
    const hint = missingToolHint(logTail);
    if (hint !== null) options.onLog(`[slipway] hint: ${hint}\n`);
    throw new SlipwayError('build_failed', `${what} ${how}${hint === null ? '' : `. ${hint}`}`, {
      details: { argv: [...argv], exitCode: exit.exitCode, signal: exit.signal, logTail },
    });
  }
  return { exitCode: 0, durationMs: exit.durationMs };
}
