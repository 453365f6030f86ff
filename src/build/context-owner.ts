/**
 * Who the files of a Dockerfile build's context must belong to. dockerd 20.10's BuildKit unpacks
 * an uploaded context with the owners its tar headers name, as host ids, without the engine's
 * user-namespace mapping; a `COPY` keeps those owners. A file owned by host uid 0 cannot be
 * mapped into the remapped engine's ids, so when the layer is made it is left out of the layer's
 * tar (dockerd only logs "Host ID 0 cannot be mapped to a container ID"): two versions that
 * differ in such files then get the same layer, and the later image runs the earlier files.
 * Owned by the engine's remapped root, they are root's files inside the image, as without
 * remapping.
 */
import { basename } from 'node:path';
import type { EngineApi } from '../runtime/docker/engine-api.js';

/** Host uid and gid of container root on a remapped engine. */
export interface ContextOwner {
  uid: number;
  gid: number;
}

/**
 * The host ids root in `api`'s containers has, or null when the engine does not remap. A
 * remapped dockerd keeps its state in `<data-root>/<uid>.<gid>` (its `DockerRootDir`): read from
 * there, it holds for any remap user, not only Slipway's.
 */
export async function contextOwner(api: EngineApi): Promise<ContextOwner | null> {
  const info = await api.json<{ SecurityOptions?: string[]; DockerRootDir?: string }>({ method: 'GET', path: '/info', timeoutMs: 10_000 });
  if (!(info.SecurityOptions ?? []).some((o) => o.split(',').includes('name=userns'))) return null;
  const ids = /^(\d+)\.(\d+)$/.exec(basename(info.DockerRootDir ?? ''));
  return ids ? { uid: Number(ids[1]), gid: Number(ids[2]) } : null;
}
