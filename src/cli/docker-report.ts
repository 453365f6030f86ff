/**
 * What `slipway doctor` says about Docker's engine when SLIPWAY_RUNTIME_DRIVER=docker: whether
 * dockerd is installed (found the way `up` starts it: on PATH), its version, and whether this
 * home's engine runs now. Without dockerd, `up` refuses to start, so the doctor fails too.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ENGINE_FALLBACK_PATH, engineLayout, remapReadiness, type RemapReadiness } from '../runtime/docker/engine.js';
import { processAlive } from '../util/process-alive.js';

/** The `docker` part of `slipway doctor --json` (present only with SLIPWAY_RUNTIME_DRIVER=docker). */
export interface DockerReport {
  /** Where dockerd is, or null when it is not on PATH. */
  dockerd: string | null;
  /** Its version (`20.10.24+dfsg1`), or null when missing or it would not say. */
  version: string | null;
  /**
   * Where docker-init is (the init every instance container runs under, `Init: true`), or null
   * when it is not on PATH: dockerd then starts, but no instance container does.
   */
  docker_init: string | null;
  /** This home's engine state folder, and the pid of its dockerd when it runs now. */
  engine: { state_dir: string; running_pid: number | null };
  /**
   * User-namespace remapping (SLIPWAY_DOCKER_USERNS): `remap` with what a remapped start would
   * find (the host uid of container root, or why the engine would refuse to start), or `off`.
   */
  userns: { mode: 'remap' | 'off' } & RemapReadiness;
  /** What a missing dockerd or docker-init, or remapping that cannot be set up, costs; null when nothing. */
  cost: string | null;
  /** True when Dockerfile apps would not run: `up` refuses to start, or every container fails. */
  refused: boolean;
}

/** Said by the doctor and the agent's start line whenever remapping is off. */
export const ROOT_BUILDS_WARNING = 'Dockerfile builds run as root on the host';

function onPath(name: string, path: string): string | null {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this folder
    }
  }
  return null;
}

function versionOf(dockerd: string): string | null {
  try {
    const out = execFileSync(dockerd, ['--version'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    return /version (\S+?),?\s/.exec(out)?.[1] ?? (out.trim() || null);
  } catch {
    return null;
  }
}

function runningPid(stateDir: string): number | null {
  try {
    const pid = Number(readFileSync(engineLayout(stateDir).pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Inspects Docker's engine for the home whose engine state is `stateDir`; `path` is the PATH `up`
 * would run with. `readiness` reads what a remapped start would find (default: this host's).
 */
export function inspectDocker(options: { stateDir: string; path: string | undefined; usernsRemap?: boolean; home?: string; readiness?: typeof remapReadiness }): DockerReport {
  // The engine is started with the same PATH (or the same fallback), and looks for docker-init on it.
  const path = options.path || ENGINE_FALLBACK_PATH;
  const dockerd = onPath('dockerd', path);
  const dockerInit = onPath('docker-init', path);
  const remap = options.usernsRemap !== false;
  const readiness = (options.readiness ?? remapReadiness)(engineLayout(options.stateDir), [options.stateDir, ...(options.home ? [options.home] : [])]);
  const userns = { mode: remap ? 'remap' as const : 'off' as const, ...readiness };
  const refused = !dockerd || !dockerInit || (remap && readiness.problem !== null);
  return {
    dockerd,
    version: dockerd ? versionOf(dockerd) : null,
    docker_init: dockerInit,
    engine: { state_dir: options.stateDir, running_pid: runningPid(options.stateDir) },
    userns,
    refused,
    cost: !dockerd
      ? 'SLIPWAY_RUNTIME_DRIVER=docker but dockerd is not installed: `slipway up` refuses to start. Install docker.io (as root, `npm run up` does; by hand see docs/docker.md), or unset SLIPWAY_RUNTIME_DRIVER'
      : !dockerInit
        ? 'SLIPWAY_RUNTIME_DRIVER=docker but docker-init is not on PATH: the engine starts, but every Dockerfile app fails to start (its containers run under docker-init). Reinstall docker.io (it ships /usr/bin/docker-init), or unset SLIPWAY_RUNTIME_DRIVER'
        : remap && readiness.problem !== null
          ? `SLIPWAY_RUNTIME_DRIVER=docker but user-namespace remapping cannot be set up (${readiness.problem}): \`slipway up\` refuses to start rather than run Dockerfile builds as root on the host. Fix that, or set SLIPWAY_DOCKER_USERNS=off to run them as root anyway`
          : !remap ? `SLIPWAY_DOCKER_USERNS=off: ${ROOT_BUILDS_WARNING} (every RUN step, and any container that runs as root, is uid 0 on the host, fenced only by capabilities and seccomp)` : null,
  };
}

/** The report's lines for the text output. */
export function formatDockerReport(r: DockerReport): string[] {
  const engine = r.engine.running_pid === null
    ? `not running (\`slipway up\` starts it), state in ${r.engine.state_dir}`
    : `running (pid ${r.engine.running_pid}), state in ${r.engine.state_dir}`;
  return [
    `${(r.dockerd ? 'ok' : 'MISSING').padEnd(7)} dockerd${r.dockerd ? ` ${r.dockerd} (${r.version ?? 'version unknown'})` : ''}`,
    `${(r.docker_init ? 'ok' : 'MISSING').padEnd(7)} docker-init${r.docker_init ? ` ${r.docker_init}` : ' (instance containers run under it)'}`,
    `${''.padEnd(7)} Docker engine of this home: ${engine}`,
    usernsLine(r.userns),
  ];
}

function usernsLine(u: DockerReport['userns']): string {
  if (u.mode === 'off') return `${'ROOT'.padEnd(7)} user namespaces for Docker: off (SLIPWAY_DOCKER_USERNS=off): ${ROOT_BUILDS_WARNING}`;
  if (u.problem !== null) return `${'MISSING'.padEnd(7)} user namespaces for Docker: ${u.problem}`;
  const moved = u.data_root_moved_to === null ? '' : `; its data-root moves to ${u.data_root_moved_to} (a folder above the home is closed to others)`;
  return `${'ok'.padEnd(7)} user namespaces for Docker: build steps and containers run as host uid ${u.root_uid ?? '?'}+ (user ${u.user})${moved}`;
}
