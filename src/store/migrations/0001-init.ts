/**
 * The first schema. Plain SQL that PostgreSQL 15 and PGlite (PostgreSQL 18) both accept: no
 * uuidv7(), no NULLS NOT DISTINCT, no MERGE … RETURNING.
 */
export const sql = `
CREATE TABLE tenants (
  id text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE projects (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  name text NOT NULL,
  external_workspace_id text,
  created_at timestamptz NOT NULL
);
CREATE INDEX projects_tenant_idx ON projects (tenant_id, external_workspace_id);
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  project_id text REFERENCES projects(id),
  role text NOT NULL CHECK (role IN ('admin', 'member', 'internal')),
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE TABLE deployments (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  project_id text NOT NULL REFERENCES projects(id),
  slug text NOT NULL,
  name text NOT NULL,
  spa_fallback boolean NOT NULL DEFAULT false,
  next_version_number integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  deleted_at timestamptz
);
-- A slug names one live deployment; a deleted one frees it.
CREATE UNIQUE INDEX deployments_slug_live_idx ON deployments (slug) WHERE deleted_at IS NULL;
CREATE INDEX deployments_tenant_idx ON deployments (tenant_id, id);
CREATE TABLE versions (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  deployment_id text NOT NULL REFERENCES deployments(id),
  version_number integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('static', 'dynamic')),
  state text NOT NULL CHECK (state IN ('queued', 'building', 'ready', 'failed')),
  source_sha256 text NOT NULL,
  artifact_sha256 text,
  build_log_sha256 text,
  build_command text,
  output_path text,
  error_code text,
  error_message text,
  attempts integer NOT NULL DEFAULT 0,
  created_by text NOT NULL,
  idempotency_key text,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (deployment_id, version_number)
);
CREATE INDEX versions_pending_idx ON versions (state) WHERE state IN ('queued', 'building');
CREATE TABLE rings (
  id text PRIMARY KEY,
  deployment_id text NOT NULL REFERENCES deployments(id),
  name text NOT NULL CHECK (name IN ('dev', 'staging', 'production')),
  active_version_id text REFERENCES versions(id),
  updated_at timestamptz NOT NULL,
  UNIQUE (deployment_id, name)
);
CREATE TABLE events (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  deployment_id text,
  version_id text,
  type text NOT NULL,
  actor text NOT NULL,
  reason text NOT NULL,
  data jsonb NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX events_deployment_idx ON events (deployment_id, id);
CREATE TABLE operations (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  kind text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
  deployment_id text,
  version_id text,
  error_code text,
  error_message text,
  created_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE TABLE idempotency_keys (
  tenant_id text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'done')),
  response_status integer,
  response_body jsonb,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
`;
