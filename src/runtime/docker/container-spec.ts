/**
 * How one instance becomes a container: the Engine API's create body, built from the same
 * {@link StartInstanceSpec} the local driver gets, so the same limits mean the same thing.
 * Pure, so every isolation setting is checked by a unit test as well as against an engine.
 */
import type { ImageRelease, StartInstanceSpec } from '../runtime-driver.js';
import { OWNER_LABEL } from './engine.js';

/** Label naming the runtime instance (`rti_…`) a container runs. */
export const INSTANCE_LABEL = 'dev.slipway.instance';

/**
 * The uid:gid an instance runs as when its image names no non-root user: `nobody`, which owns
 * nothing in any image, so the app can read what the image lets everyone read and write only
 * its tmpfs.
 */
export const FALLBACK_USER = '65534:65534';

/**
 * Prefixed to a run command so stderr goes down stdout's pipe. The engine reads the two from
 * separate pipes and may record lines written a moment apart out of order (seen: `second` on
 * stderr logged before `first` on stdout); one pipe keeps the order the app wrote them in, as
 * the local driver's single log descriptor does. An image's own command keeps two streams.
 */
export const MERGE_STDERR = 'exec 2>&1\n';

/** The part of the Engine API's `POST /containers/create` body Slipway sets. */
export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  /** `[""]` resets the image's ENTRYPOINT (the Engine API's spelling), so a run command runs as given. */
  Entrypoint?: string[];
  Env: string[];
  User: string;
  Labels: Record<string, string>;
  HostConfig: {
    NetworkMode: 'none';
    Init: true;
    ReadonlyRootfs: true;
    Tmpfs: Record<string, string>;
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    CapDrop: string[];
    SecurityOpt: string[];
    RestartPolicy: { Name: 'no' };
    LogConfig: { Type: 'json-file'; Config: Record<string, string> };
  };
}

// The largest uid the engine's runtime accepts (runc refuses larger ones); anything above is
// not a user this platform will hand over.
const MAX_UID = 2 ** 31 - 1;

/** True when `imageUser` names its user by name, so only the image's /etc/passwd says who it is. */
export function userNeedsPasswd(imageUser: string | undefined): boolean {
  const name = (imageUser ?? '').trim().split(':')[0] ?? '';
  return name !== '' && !/^\d+$/.test(name);
}

/**
 * The user to run as: the image's own when it names a non-root one (the image's author made its
 * files fit that user), else {@link FALLBACK_USER}. Root is never kept: a numeric user is read
 * as a number, so `0`, `00`, `0000` and `0:0` are all root; a named one is looked up in the
 * image's `passwd` text the way the engine does (the first entry with that name, lines trimmed),
 * and kept only
 * when it is there with a uid other than 0 (`root`, or a `toor` with uid 0, is not). Without
 * `passwd` (the image has no readable /etc/passwd) a named user cannot be vouched for and is
 * not kept either. The group part is the image's: a group confers no privilege once every
 * capability is dropped.
 */
export function instanceUser(imageUser: string | undefined, passwd?: string | null): string {
  const user = (imageUser ?? '').trim();
  const name = user.split(':')[0] ?? '';
  if (name === '') return FALLBACK_USER;
  if (/^\d+$/.test(name)) return usableUid(name) ? user : FALLBACK_USER;
  const entry = (passwd ?? '').split('\n').map((line) => line.trim().split(':')).find((fields) => fields[0] === name);
  return entry !== undefined && usableUid((entry[2] ?? '').trim()) ? user : FALLBACK_USER;
}

function usableUid(uid: string): boolean {
  if (!/^\d+$/.test(uid)) return false;
  const n = Number(uid);
  return n > 0 && n <= MAX_UID;
}

/**
 * The create body for `spec` running `release`. The engine gives it no network (`none`: only
 * `lo`; the driver joins that namespace to the host itself, see `container-net.ts`); the
 * engine's init as pid 1; a read-only root with a size-limited tmpfs on /tmp (it takes the
 * image's /tmp mode, 1777 in every distribution image); no capabilities and no privilege gain;
 * memory without swap, a CPU quota and a pids limit from {@link StartInstanceSpec.resources};
 * and no engine restart policy, because restarts are the agent's (with its crash-loop
 * backoff). `user` is the one {@link instanceUser} chose (resolved against the image by
 * `resolveInstanceUser`).
 */
export function containerCreateBody(spec: StartInstanceSpec, release: ImageRelease, user: string): ContainerCreateBody {
  const env: Record<string, string> = { HOME: '/tmp', TMPDIR: '/tmp', ...spec.env, PORT: String(spec.port) };
  const memory = spec.resources.memory_mb * 1024 * 1024;
  return {
    Image: release.image,
    // A run command replaces the image's command *and* its entrypoint: left in place, an
    // ENTRYPOINT would get `/bin/sh -c …` as its arguments instead of running it.
    ...(spec.runCommand.trim() === '' ? {} : { Entrypoint: [''], Cmd: ['/bin/sh', '-c', `${MERGE_STDERR}${spec.runCommand}`] }),
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    User: user,
    Labels: { [OWNER_LABEL]: 'true', [INSTANCE_LABEL]: spec.id },
    HostConfig: {
      NetworkMode: 'none',
      // The engine's own init (tini) as pid 1: it forwards SIGTERM to the app, which then ends
      // as it would outside a container (a pid 1 without a handler ignores SIGTERM), and reaps
      // the app's orphans.
      Init: true,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${spec.resources.disk_mb}m` },
      Memory: memory,
      MemorySwap: memory,
      NanoCpus: spec.resources.cpu_millis * 1_000_000,
      PidsLimit: spec.resources.pids_max,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      RestartPolicy: { Name: 'no' },
      // Bounded, because the agent copies the stream into logPath; the engine's copy is a buffer.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
    },
  };
}
