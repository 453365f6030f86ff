/**
 * Retention (docs/operations.md#disk-and-garbage-collection): a version's record stays forever,
 * but garbage collection may delete its release. `artifact_collected_at` says when it did; such
 * a version is rebuilt from its snapshot (a redeploy), never rolled back to.
 */
export const sql = `
ALTER TABLE versions ADD COLUMN artifact_collected_at timestamptz;
`;
