/**
 * The route feed loads the healthy instances of the deployments each route change names
 * (`src/services/route-feed.ts`), and the deployment views load theirs: without an index by
 * deployment each of those reads every instance row ever recorded, which grows with every
 * rollout and restart, so a route change would cost more as the host ages.
 */
export const sql = `
CREATE INDEX runtime_instances_deployment_idx ON runtime_instances (deployment_id, state);
`;
