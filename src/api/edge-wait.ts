import type { Services } from '../services/services.js';

/** How long an answer waits for the edges to serve a change before it is given anyway. */
const EDGE_WAIT_MS = 10_000;

/**
 * Holds an answer until every connected edge serves the latest route change, so "ready" in an
 * answer means users get the new version. Bounded: a slow or lost edge only delays it.
 */
export async function untilEdgesServe(services: Services): Promise<void> {
  const revision = await services.routes.settledRevision();
  if (!(await services.routes.waitForEdges(revision, EDGE_WAIT_MS))) {
    services.ctx.logger.warn({ revision }, 'an edge did not confirm a route change in time');
  }
}
