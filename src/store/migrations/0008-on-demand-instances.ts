/**
 * Instances started on demand (a request to a version with none running, or to a service
 * scaled to zero): they stop again once idle, and the reconciler neither counts them as the
 * active version's replicas nor retires them as superseded.
 */
export const sql = `
ALTER TABLE runtime_instances ADD COLUMN on_demand boolean NOT NULL DEFAULT false;
`;
