import type { Services } from '../services/services.js';
import type { Principal } from '../services/context.js';

/** The docs/architecture.md §6 publish answer for a version, read fresh from the store. */
export async function renderPublish(
  services: Services,
  principal: Principal,
  ids: { deploymentId: string; versionId: string; operationId?: string },
) {
  const deployment = await services.deployments.get(principal, ids.deploymentId);
  const version = await services.versions.get(principal, ids.deploymentId, ids.versionId);
  const operation = ids.operationId ? await services.operations.get(principal, ids.operationId) : undefined;
  return {
    deployment,
    version,
    services: (await services.runtime.servicesOf(ids.deploymentId)).map((s) => ({ id: s.id, type: s.type, state: s.state })),
    promoted: deployment.active_version_id === version.id,
    ...(operation ? { operation: { id: operation.id, state: operation.state } } : {}),
  };
}
