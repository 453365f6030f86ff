/**
 * Dynamic apps: what a publish asked for (run command, port, runtime settings), services, and
 * runtime instances. Same dialect rules as 0001.
 */
export const sql = `
ALTER TABLE versions ADD COLUMN requested_kind text NOT NULL DEFAULT 'auto';
ALTER TABLE versions ADD COLUMN run_command text;
ALTER TABLE versions ADD COLUMN port integer;
ALTER TABLE versions ADD COLUMN runtime_options jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE versions ADD COLUMN release_manifest jsonb;
CREATE TABLE services (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  deployment_id text NOT NULL REFERENCES deployments(id),
  type text NOT NULL CHECK (type IN ('static_web', 'web', 'worker')),
  desired_replicas integer NOT NULL CHECK (desired_replicas >= 0),
  health jsonb NOT NULL,
  resources jsonb NOT NULL,
  sticky jsonb,
  crash_loop_budget integer NOT NULL,
  drain_timeout_ms integer NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (deployment_id, type)
);
CREATE TABLE runtime_instances (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  deployment_id text NOT NULL REFERENCES deployments(id),
  service_id text NOT NULL REFERENCES services(id),
  version_id text NOT NULL REFERENCES versions(id),
  host_id text NOT NULL,
  desired text NOT NULL CHECK (desired IN ('running', 'stopped')),
  state text NOT NULL CHECK (state IN ('pending', 'starting', 'healthy', 'unhealthy', 'stopping', 'stopped', 'failed')),
  address text,
  reason text NOT NULL DEFAULT '',
  reason_code text,
  restart_count integer NOT NULL DEFAULT 0,
  -- A rollout's instance: it fails at its first exit instead of restarting.
  fail_fast boolean NOT NULL DEFAULT false,
  log_tail text,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX runtime_instances_version_idx ON runtime_instances (version_id);
CREATE INDEX runtime_instances_live_idx ON runtime_instances (host_id) WHERE state NOT IN ('stopped', 'failed');
`;
