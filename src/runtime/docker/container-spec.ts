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
  Env: string[];
  User: string;
  Labels: Record<string, string>;
  HostConfig: {
    NetworkMode: 'none';
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

/**
 * The user to run as: the image's own when it names a non-root one (the image's author made its
 * files fit that user), else {@link FALLBACK_USER}. Root is never kept, by name or by uid 0.
 */
export function instanceUser(imageUser: string | undefined): string {
  const user = (imageUser ?? '').trim();
  const name = user.split(':')[0] ?? '';
  if (name === '' || name === 'root' || name === '0') return FALLBACK_USER;
  return user;
}

/**
 * The create body for `spec` running `release`. The app gets no network at all (`none`: only
 * `lo`); a read-only root with a size-limited tmpfs on /tmp (it takes the image's /tmp mode,
 * 1777 in every distribution image); no capabilities and no privilege gain; memory without swap,
 * a CPU quota and a pids limit from {@link StartInstanceSpec.resources}; and no engine restart
 * policy, because restarts are the agent's (with its crash-loop backoff).
 */
export function containerCreateBody(spec: StartInstanceSpec, release: ImageRelease, imageUser: string | undefined): ContainerCreateBody {
  const env: Record<string, string> = { HOME: '/tmp', TMPDIR: '/tmp', ...spec.env, PORT: String(spec.port) };
  const memory = spec.resources.memory_mb * 1024 * 1024;
  return {
    Image: release.image,
    ...(spec.runCommand.trim() === '' ? {} : { Cmd: ['/bin/sh', '-c', `${MERGE_STDERR}${spec.runCommand}`] }),
    Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
    User: instanceUser(imageUser),
    Labels: { [OWNER_LABEL]: 'true', [INSTANCE_LABEL]: spec.id },
    HostConfig: {
      NetworkMode: 'none',
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
