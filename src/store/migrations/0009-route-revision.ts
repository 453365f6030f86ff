/**
 * The routing table's revision as a database counter, so every server sharing the store gives
 * the same change the same revision: `route_revision` is one row, bumped (under its row lock,
 * so revisions commit in order) in the transaction that appends the change to `route_changes`.
 * A server streams the changes after the revision its edges have; old rows are pruned, and a
 * server that fell further behind sends a snapshot instead.
 */
export const sql = `
CREATE TABLE route_revision (
  id integer PRIMARY KEY,
  revision bigint NOT NULL
);
INSERT INTO route_revision (id, revision) VALUES (1, 0);
CREATE TABLE route_changes (
  revision bigint PRIMARY KEY,
  deployment_id text NOT NULL,
  created_at timestamptz NOT NULL
);
`;
