/**
 * Container lifecycle on the Engine API: create and start an instance's container, read its
 * state, stop and remove it, and list Slipway's containers (for re-adoption and cleanup).
 */
import { SlipwayError, isSlipwayError } from '../../core/errors.js';
import type { InstanceExit, StartInstanceSpec } from '../runtime-driver.js';
import type { EngineApi } from './engine-api.js';
import { OWNER_LABEL } from './engine.js';
import { INSTANCE_LABEL, containerCreateBody } from './container-spec.js';
import { resolveInstanceUser } from './image-user.js';
import { blankHandleLabels } from './container-handles.js';

/** What {@link startContainer} made. */
export interface StartedContainer {
  /** The engine's container id (64 hex digits). */
  containerId: string;
  /** The image id (`sha256:…`) it runs, whatever reference it was started from. */
  imageId: string;
  /** The user it runs as (`uid:gid` or the image's user name). */
  user: string;
}

/** The part of `GET /containers/{id}/json` Slipway reads. */
export interface ContainerState {
  running: boolean;
  exit: InstanceExit;
  /** The container's init pid on the engine's host (0 once it exited). */
  pid: number;
}

/** The container name of instance `id`: the engine refuses a second one, so a retry cannot fork. */
export function containerName(id: string): string {
  return `slipway-${id}`;
}

/** Options of {@link startContainer}. */
export interface StartContainerOptions {
  /** More labels on the container (the driver's own facts); Slipway's owner and instance labels win. */
  labels?: Record<string, string>;
}

/**
 * Creates and starts the container of `spec`. Only image releases: a tree release is refused
 * with `unavailable` (this driver does not yet mount trees into a runtime image).
 */
export async function startContainer(api: EngineApi, spec: StartInstanceSpec, options: StartContainerOptions = {}): Promise<StartedContainer> {
  const release = spec.release;
  if (release.kind !== 'image') {
    throw new SlipwayError('unavailable', 'the docker driver runs image releases only so far; this release is a file tree', {
      details: { releaseKind: release.kind },
    });
  }
  const image = await api
    .json<{ Id: string; Config?: { User?: string } }>({ method: 'GET', path: `/images/${encodeURIComponent(release.image)}/json` })
    .catch((err: unknown) => {
      if (!isSlipwayError(err, 'not_found')) throw err;
      throw new SlipwayError('unavailable', `image ${release.image} is not on this host's Docker engine`, {
        cause: err,
        details: { image: release.image },
      });
    });
  const body = containerCreateBody(spec, { kind: 'image', image: image.Id }, await resolveInstanceUser(api, image.Id, image.Config?.User));
  // Every label the driver reads is named, blank unless set: the image's labels are copied onto
  // the container for any key the request leaves out, and an image must not forge a handle.
  body.Labels = { ...blankHandleLabels(), ...options.labels, ...body.Labels };
  const created = await api.json<{ Id: string }>({
    method: 'POST',
    path: '/containers/create',
    query: { name: containerName(spec.id) },
    json: body,
  });
  try {
    await api.json({ method: 'POST', path: `/containers/${created.Id}/start` });
  } catch (err) {
    await removeContainer(api, created.Id);
    throw err;
  }
  return { containerId: created.Id, imageId: image.Id, user: body.User };
}

/** The container's state, or null when it no longer exists. */
export async function inspectContainer(api: EngineApi, containerId: string): Promise<ContainerState | null> {
  try {
    const info = await api.json<{ State: { Running: boolean; Pid: number; ExitCode: number; OOMKilled: boolean } }>({
      method: 'GET',
      path: `/containers/${containerId}/json`,
    });
    const { State: state } = info;
    return {
      running: state.Running,
      pid: state.Pid,
      exit: { oomKilled: state.OOMKilled, exitCode: state.Running ? null : state.ExitCode, signal: null },
    };
  } catch (err) {
    if (isSlipwayError(err, 'not_found')) return null;
    throw err;
  }
}

/**
 * SIGTERM, then SIGKILL after `graceMs` (the engine rounds up to whole seconds). A container
 * that already stopped (the engine answers 304) or is gone is done.
 */
export async function stopContainer(api: EngineApi, containerId: string, graceMs: number): Promise<void> {
  try {
    // The answer comes once the container stopped: the grace period plus the engine's own time.
    await api.json({ method: 'POST', path: `/containers/${containerId}/stop`, query: { t: Math.ceil(graceMs / 1000) }, timeoutMs: graceMs + 30_000 });
  } catch (err) {
    if (!isSlipwayError(err, 'not_found') && !notModified(err)) throw err;
  }
}

/** SIGKILL to the container's processes at once; one that is not running or is gone is done. */
export async function killContainer(api: EngineApi, containerId: string): Promise<void> {
  try {
    await api.json({ method: 'POST', path: `/containers/${containerId}/kill` });
  } catch (err) {
    // 409: it is not running.
    if (!isSlipwayError(err, 'not_found') && !(isSlipwayError(err) && err.details.statusCode === 409)) throw err;
  }
}

function notModified(err: unknown): boolean {
  return isSlipwayError(err) && err.details.statusCode === 304;
}

/** Kills and removes the container; one that is already gone is done. */
export async function removeContainer(api: EngineApi, containerId: string): Promise<void> {
  try {
    await api.json({ method: 'DELETE', path: `/containers/${containerId}`, query: { force: true } });
  } catch (err) {
    if (!isSlipwayError(err, 'not_found')) throw err;
  }
}

/** Slipway's containers on the engine, running or exited: instance id → container id. */
export async function listInstanceContainers(api: EngineApi): Promise<Map<string, string>> {
  const list = await api.json<{ Id: string; Labels?: Record<string, string> }[]>({
    method: 'GET',
    path: '/containers/json',
    query: { all: true, filters: { label: [`${OWNER_LABEL}=true`] } },
  });
  const out = new Map<string, string>();
  for (const container of list) {
    const instance = container.Labels?.[INSTANCE_LABEL];
    if (instance !== undefined) out.set(instance, container.Id);
  }
  return out;
}
