/** Instance output, shipped by the agents; bounded by the log service's retention sweep. */
export const sql = `
CREATE TABLE instance_logs (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL,
  deployment_id text NOT NULL,
  service_id text NOT NULL,
  version_id text NOT NULL,
  runtime_instance_id text NOT NULL,
  host_id text NOT NULL,
  line text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX instance_logs_deployment_idx ON instance_logs (deployment_id, id);
CREATE INDEX instance_logs_service_idx ON instance_logs (service_id, id);
CREATE INDEX instance_logs_instance_idx ON instance_logs (runtime_instance_id, id);
CREATE INDEX instance_logs_created_idx ON instance_logs (created_at);
`;
