import { isSlipwayApiError, type Deployment, type SlipwayClient } from '../sdk/index.js';

/** What {@link ensureDeployment} found or did. */
export interface EnsuredDeployment {
  deployment: Deployment;
  created: boolean;
}

/**
 * Returns the deployment, creating it when it does not exist yet. Two publishes racing to
 * create the same slug are both fine: the loser's `deployment_exists` just means "now it
 * exists". `spa: true` also turns on SPA fallback on an existing deployment; without it the
 * setting is left alone.
 */
export async function ensureDeployment(client: SlipwayClient, slug: string, spa: boolean): Promise<EnsuredDeployment> {
  let deployment: Deployment;
  let created = false;
  try {
    deployment = await client.getDeployment(slug);
  } catch (err) {
    if (!isSlipwayApiError(err, 'deployment_not_found')) throw err;
    try {
      deployment = await client.createDeployment({ slug, spaFallback: spa ? true : undefined });
      created = true;
    } catch (createErr) {
      if (!isSlipwayApiError(createErr, 'deployment_exists')) throw createErr;
      deployment = await client.getDeployment(slug);
    }
  }
  if (spa && !deployment.spa_fallback) deployment = await client.updateDeployment(deployment.id, { spaFallback: true });
  return { deployment, created };
}
