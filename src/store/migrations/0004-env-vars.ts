/**
 * A deployment's environment variables and secrets (secret values sealed), and the copy of
 * them each version was published with.
 */
export const sql = `
CREATE TABLE env_vars (
  tenant_id text NOT NULL,
  deployment_id text NOT NULL,
  name text NOT NULL,
  secret boolean NOT NULL,
  value text NOT NULL,
  updated_by text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (deployment_id, name)
);
ALTER TABLE versions ADD COLUMN env jsonb NOT NULL DEFAULT '{}'::jsonb;
`;
