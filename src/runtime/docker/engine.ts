/**
 * A Slipway-owned Docker daemon: started with every networking feature off, its state in one
 * folder, so it can neither touch the host's network nor meet another dockerd's containers.
 *
 * Why each flag (see docs/docker.md): `--bridge=none` creates no docker0 (an address on a bridge
 * not covered by a blackhole route is routed out of the machine); `--iptables=false`,
 * `--ip6tables=false`, `--ip-masq=false` add no firewall rules; `--ip-forward=false` leaves the
 * host's forwarding sysctl alone (dockerd sets it to 1 by default); `--userland-proxy=false`
 * starts no docker-proxy; `--config-file` keeps the host's /etc/docker/daemon.json out;
 * `--group=root` keeps the socket root's alone (dockerd's default hands it to the host's `docker`
 * group, and with remapping the state folder is searchable by others); the cgroup parent names every container cgroup as Slipway's so cleanup finds them;
 * `--userns-remap` makes root in a build step or container an unprivileged host uid
 * (engine-userns.ts).
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { SlipwayError } from '../../core/errors.js';
import { runCommand } from '../../util/child-process.js';
import { processAlive } from '../../util/process-alive.js';
import { removeDir } from '../../util/temp-dir.js';
import { waitFor } from '../../util/wait-for.js';
import { createEngineApi, type EngineApi } from './engine-api.js';
import { mountsUnder, pidsMentioning, removeEngineCgroups } from './engine-host.js';
import { engineOwners, lockEngineState } from './engine-owner.js';
import { dataRootTarget } from './engine-data-root.js';
import { engineRemappedRoot, remapUnavailable, startRemapped } from './engine-userns.js';

// `slipway doctor` may import only this module of the runtime (eslint.config.js).
export { remapReadiness, type RemapReadiness } from './engine-userns.js';

/**
 * The PATH dockerd is started with when Slipway's own has none (it finds containerd, runc and
 * docker-init on it); `slipway doctor` looks for them on the same one.
 */
export const ENGINE_FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Label on everything Slipway creates in an engine; cleanup touches only what carries it. */
export const OWNER_LABEL = 'dev.slipway.owned';

/** Where one engine keeps its state, all under one folder. */
export interface EngineLayout {
  stateDir: string;
  dataRoot: string;
  execRoot: string;
  socketPath: string;
  pidFile: string;
  configFile: string;
  logFile: string;
}

// A unix socket path longer than this does not fit sockaddr_un (108 bytes with the NUL).
const MAX_SOCKET_PATH = 100;

/** The folder layout of an engine whose state lives in `stateDir`. */
export function engineLayout(stateDir: string): EngineLayout {
  return {
    stateDir,
    dataRoot: join(stateDir, 'data'),
    execRoot: join(stateDir, 'exec'),
    socketPath: join(stateDir, 'docker.sock'),
    pidFile: join(stateDir, 'dockerd.pid'),
    configFile: join(stateDir, 'daemon.json'),
    logFile: join(stateDir, 'dockerd.log'),
  };
}

/** Options for {@link startDockerEngine}. */
export interface DockerEngineOptions {
  /** Owns everything the engine keeps (images, containers, its socket). Short: the socket lives here. */
  stateDir: string;
  /** Parent cgroup of every container (relative; default `slipway-docker`). */
  cgroupParent?: string;
  /** The dockerd binary (default `dockerd` on PATH). */
  dockerdPath?: string;
  /** How long to wait for the API to answer (default 30 s). */
  startTimeoutMs?: number;
  /**
   * Remap container root to an unprivileged host uid (`--userns-remap`, default true). Off, build
   * steps and containers that run as root are root on the host.
   */
  usernsRemap?: boolean;
  /**
   * Folders above `stateDir` that Slipway made (the home): with remapping they get o+x, since
   * the remapped root must reach the data-root through them.
   */
  ownedAncestors?: string[];
  /** Where a remapped data-root moves when a folder above `stateDir` is closed (default `/var/lib/slipway-docker`). */
  relocateUnder?: string;
}

/** The argument vector that starts dockerd for `layout`; every network feature is off. */
export function dockerdArgv(layout: EngineLayout, options: { dockerdPath?: string; cgroupParent?: string; remapUser?: string } = {}): string[] {
  const remap = options.remapUser === undefined ? [] : [`--userns-remap=${options.remapUser}`];
  return [
    options.dockerdPath ?? 'dockerd',
    `--config-file=${layout.configFile}`,
    `--data-root=${layout.dataRoot}`,
    `--exec-root=${layout.execRoot}`,
    `--pidfile=${layout.pidFile}`,
    `--host=unix://${layout.socketPath}`,
    // root:root 0660: a member of the host's `docker` group must not get a privileged container.
    '--group=root',
    '--bridge=none',
    '--iptables=false',
    '--ip6tables=false',
    '--ip-forward=false',
    '--ip-masq=false',
    '--userland-proxy=false',
    '--no-new-privileges',
    `--cgroup-parent=${options.cgroupParent ?? 'slipway-docker'}`,
    ...remap,
  ];
}

/** A running Slipway-owned engine. */
export interface DockerEngine {
  readonly layout: EngineLayout;
  readonly api: EngineApi;
  readonly pid: number;
  /** True when this call started dockerd; false when it found one already running on the state. */
  readonly started: boolean;
  /**
   * The host uid root in a build step or container runs as; null when not remapped (host root),
   * -1 when remapped to a user other than Slipway's. Absent counts as null.
   */
  readonly remappedRoot?: number | null;
  /**
   * Removes every Slipway-labelled container, stops dockerd and removes what it left on the
   * host (mounts under the state folder, its cgroups, stray shims). With `purge`, the state
   * folder (images included) goes too. Every step runs even when one before it failed; it then
   * rejects (`internal_error`) naming what is left.
   */
  stop(options?: { purge?: boolean }): Promise<void>;
}

async function ping(api: EngineApi): Promise<boolean> {
  try {
    await api.stream({ method: 'GET', path: '/_ping', timeoutMs: 1_000 }).then((body) => body.resume());
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts dockerd on `stateDir`, or adopts the one already running there (an agent restart must
 * not restart the engine: its containers would stop). Resolves once the API answers. Throws
 * `unavailable` when dockerd is not installed or does not come up, with the tail of its log,
 * after killing it and cleaning up what it started (as {@link DockerEngine.stop} does), and
 * when a dockerd already runs on the state but does not answer in time: that one is never
 * replaced, since a second dockerd on the same state would fail and its cleanup would take
 * the first one's containers along. One process at a time decides (a lock in the state folder).
 */
export async function startDockerEngine(options: DockerEngineOptions): Promise<DockerEngine> {
  const layout = engineLayout(options.stateDir);
  if (layout.socketPath.length > MAX_SOCKET_PATH) {
    throw new SlipwayError('invalid_request', `the engine's state folder path is too long for a unix socket: ${layout.stateDir}`, {
      details: { socketPath: layout.socketPath, max: MAX_SOCKET_PATH },
    });
  }
  await mkdir(layout.dataRoot, { recursive: true, mode: 0o700 });
  await mkdir(layout.execRoot, { recursive: true, mode: 0o700 });
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  // Long enough for a holder that is itself starting an engine to finish.
  const unlock = await lockEngineState(layout.stateDir, timeoutMs + 10_000);
  try {
    return await startOrAdopt(layout, options, timeoutMs);
  } finally {
    await unlock();
  }
}

async function startOrAdopt(layout: EngineLayout, options: DockerEngineOptions, timeoutMs: number): Promise<DockerEngine> {
  const cgroupParent = options.cgroupParent ?? 'slipway-docker';
  const api = createEngineApi(layout.socketPath);
  const [owner] = engineOwners(layout);
  if (owner !== undefined) {
    // A busy dockerd (2 cores, a build running) may take a while to answer; it is waited for,
    // never replaced.
    const answered = await waitFor(() => ping(api), { timeoutMs, intervalMs: 100, description: 'dockerd to answer' }).then(() => true, () => false);
    if (answered) {
      const remappedRoot = await engineRemappedRoot(api);
      if (remappedRoot === null && options.usernsRemap !== false) {
        await api.close();
        throw remapUnavailable(`the dockerd already running on ${layout.stateDir} (pid ${owner}) was started without remapping; stop it with \`slipway down --stop-apps\` (a plain stop leaves it running), then start Slipway again`);
      }
      return makeEngine({ layout, api, pid: owner, started: false, cgroupParent, remappedRoot });
    }
    await api.close();
    throw new SlipwayError('unavailable', `the dockerd already running on ${layout.stateDir} (pid ${owner}) did not answer within ${timeoutMs} ms; it was left running`, {
      details: { pid: owner, socketPath: layout.socketPath },
    });
  }
  // No dockerd runs on this state (checked under the lock): a pid file left is stale, and may
  // name a process that reused the pid, which would make dockerd refuse to start.
  await rm(layout.pidFile, { force: true });
  const dockerd = options.dockerdPath ?? 'dockerd';
  const path = process.env.PATH ?? ENGINE_FALLBACK_PATH;
  // Before remapping changes the host (a system user, /etc/subuid, folder modes).
  if (!installed(dockerd, path)) {
    await api.close();
    throw new SlipwayError('unavailable', 'dockerd is not installed (apt-get install docker.io)', { details: { dockerd, path } });
  }
  await writeFile(layout.configFile, '{}\n', { mode: 0o600 });
  const remap = options.usernsRemap === false ? null : await startRemapped(
    { ...layout, ...(options.relocateUnder ? { relocateUnder: options.relocateUnder } : {}) },
    [...(options.ownedAncestors ?? []), layout.stateDir],
  );
  const argv = dockerdArgv(layout, { dockerdPath: options.dockerdPath, cgroupParent, ...(remap ? { remapUser: remap.user } : {}) });
  const log = openSync(layout.logFile, 'a', 0o600);
  let child;
  try {
    child = spawn(argv[0] as string, argv.slice(1), { detached: true, stdio: ['ignore', log, log], env: { PATH: path } });
  } finally {
    closeSync(log);
  }
  let gone = false;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(err.message));
    child.once('exit', (code, signal) => resolve(`exited with ${signal ?? `code ${code}`}`));
  }).finally(() => {
    gone = true;
  });
  child.unref();
  // The ping loop ends with the child too: a lingering loop would hold the process open for the
  // whole start timeout after dockerd failed (seen: `up` exiting 30 s after its error).
  const up = await Promise.race([
    waitFor(async () => gone || (await ping(api)), { timeoutMs, intervalMs: 25, description: 'dockerd to answer' }).then(() => null),
    exited,
  ]).catch((err: Error) => err.message);
  if (up !== null || child.pid === undefined) {
    await api.close();
    const others = engineOwners(layout).filter((pid) => pid !== child.pid);
    // A dockerd that came halfway up has started containerd and mounted its data-root: the
    // same cleanup as a stop, so a failed start leaves nothing running or mounted either. But
    // only when no other dockerd owns the state (one started meanwhile by hand, say): its
    // containerd, mounts and cgroups look just the same, so then only our child is stopped.
    const left = others.length === 0
      ? await stopAndCleanUp({ layout, pid: child.pid ?? null, cgroupParent, graceMs: 0 })
      : child.pid === undefined ? [] : await stopProcess(child.pid, 0).then(() => [], (err: Error) => [`dockerd ${child.pid}: ${err.message}`]);
    const tail = (await readFile(layout.logFile, 'utf8').catch(() => '')).slice(-2_000);
    const missing = /ENOENT/.test(up ?? '');
    throw new SlipwayError('unavailable', missing ? `dockerd is not installed (apt-get install docker.io)` : `dockerd did not start: ${up}`, {
      details: { argv, logTail: tail, ...(left.length > 0 ? { leftOnHost: left } : {}), ...(others.length > 0 ? { otherDockerd: others } : {}) },
    });
  }
  return makeEngine({ layout, api, pid: child.pid, started: true, cgroupParent, remappedRoot: remap?.rootUid ?? null });
}

/** Whether `command` (a path, or a name looked up on `path` as spawn does) is an executable file. */
function installed(command: string, path: string): boolean {
  const candidates = command.includes('/') ? [command] : path.split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function makeEngine(facts: { layout: EngineLayout; api: EngineApi; pid: number; started: boolean; cgroupParent: string; remappedRoot: number | null }): DockerEngine {
  const { layout, api, pid, started, cgroupParent, remappedRoot } = facts;
  return {
    layout,
    api,
    pid,
    started,
    remappedRoot,
    async stop(options = {}) {
      await removeOwnedContainers(api).catch(() => {
        // The engine may already be gone; what it left is cleaned below either way.
      });
      await api.close();
      const moved = dataRootTarget(layout.dataRoot);
      const left = await stopAndCleanUp({ layout, pid, cgroupParent, graceMs: 20_000 });
      for (const dir of options.purge ? [layout.stateDir, ...(moved ? [moved] : [])] : []) {
        await removeDir(dir).catch((err: Error) => left.push(`${dir}: ${err.message}`));
      }
      if (left.length > 0) {
        throw new SlipwayError('internal_error', `the Docker engine stopped, but left on the host: ${left.join('; ')}`, {
          details: { stateDir: layout.stateDir, left },
        });
      }
    },
  };
}

/**
 * Stops dockerd (SIGTERM, then SIGKILL after `graceMs`; at once with 0) and removes what it
 * left on the host: containerd and shims, mounts under the state folder, the cgroup parent.
 * Every step runs even when one before it failed; returns what could not be removed.
 */
async function stopAndCleanUp(o: { layout: EngineLayout; pid: number | null; cgroupParent: string; graceMs: number }): Promise<string[]> {
  const left: string[] = [];
  const attempt = async (what: string, step: () => Promise<unknown>): Promise<void> => {
    await step().catch((err: Error) => left.push(`${what}: ${err.message}`));
  };
  if (o.pid !== null) await attempt(`dockerd ${o.pid}`, () => stopProcess(o.pid as number, o.graceMs));
  // containerd and shims outlive a dockerd that was killed; they name the engine's exec-root.
  for (const shim of pidsMentioning(o.layout.execRoot)) await attempt(`process ${shim}`, () => stopProcess(shim, 5_000));
  const moved = dataRootTarget(o.layout.dataRoot);
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const point of [o.layout.stateDir, ...(moved ? [moved] : [])].flatMap((root) => mountsUnder(mountinfo, root))) {
    await attempt(`mount ${point}`, () => runCommand(['umount', point]).catch(() => runCommand(['umount', '-l', point])));
  }
  left.push(...(await removeEngineCgroups(o.cgroupParent)));
  return left;
}

async function removeOwnedContainers(api: EngineApi): Promise<void> {
  const filters = { label: [`${OWNER_LABEL}=true`] };
  const list = await api.json<{ Id: string }[]>({ method: 'GET', path: '/containers/json', query: { all: true, filters }, timeoutMs: 10_000 });
  for (const { Id } of list) {
    await api.json({ method: 'DELETE', path: `/containers/${Id}`, query: { force: true }, timeoutMs: 30_000 });
  }
}

/** SIGTERM, then SIGKILL after `graceMs` (at once with 0); resolves once the process is gone. */
async function stopProcess(pid: number, graceMs: number): Promise<void> {
  if (!processAlive(pid)) return;
  if (graceMs > 0) {
    process.kill(pid, 'SIGTERM');
    const exited = await waitFor(() => !processAlive(pid), { timeoutMs: graceMs, description: `process ${pid} to exit` }).then(() => true, () => false);
    if (exited) return;
  }
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !processAlive(pid), { timeoutMs: 5_000, description: `process ${pid} to die` });
}
