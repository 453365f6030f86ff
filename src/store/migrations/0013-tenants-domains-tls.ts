/**
 * White-label hosting (issue 11): tenants get a slug, a state and branding; keys get the
 * `operator` and `read_only` roles; deployment slugs become unique per tenant (host names stay
 * unique globally through the domains table and the managed `<slug>--<tenant>` label); domains,
 * certificates and ACME challenges get tables of their own.
 *
 * The keys that exist before this migration were all written by `slipway up` for the one
 * tenant there was, so its admin keys become the platform operator's.
 */
export const sql = `
ALTER TABLE tenants ADD COLUMN slug text;
ALTER TABLE tenants ADD COLUMN display_name text;
ALTER TABLE tenants ADD COLUMN state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended'));
ALTER TABLE tenants ADD COLUMN branding jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE tenants ADD COLUMN suspended_at timestamptz;
ALTER TABLE tenants ADD COLUMN deleted_at timestamptz;
UPDATE tenants SET slug = CASE WHEN name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' THEN name ELSE replace(id, '_', '-') END,
  display_name = name;
ALTER TABLE tenants ALTER COLUMN slug SET NOT NULL;
ALTER TABLE tenants ALTER COLUMN display_name SET NOT NULL;
CREATE UNIQUE INDEX tenants_slug_live_idx ON tenants (slug) WHERE deleted_at IS NULL;

ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
UPDATE api_keys SET role = 'operator' WHERE role = 'admin';
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('operator', 'admin', 'member', 'read_only', 'internal'));
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);

DROP INDEX deployments_slug_live_idx;
CREATE UNIQUE INDEX deployments_slug_live_idx ON deployments (tenant_id, slug) WHERE deleted_at IS NULL;

CREATE TABLE domains (
  id text PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants(id),
  deployment_id text REFERENCES deployments(id),
  kind text NOT NULL CHECK (kind IN ('custom', 'tenant')),
  hostname text NOT NULL,
  state text NOT NULL CHECK (state IN ('pending_verification', 'verified', 'active', 'error')),
  verification_token text NOT NULL,
  verified_by text CHECK (verified_by IN ('dns', 'http')),
  verified_at timestamptz,
  check_attempts integer NOT NULL DEFAULT 0,
  next_check_at timestamptz,
  last_checked_at timestamptz,
  error_code text,
  error_message text,
  redirect_to text,
  https_redirect boolean NOT NULL DEFAULT false,
  hsts_max_age integer,
  tls_state text NOT NULL DEFAULT 'none' CHECK (tls_state IN ('none', 'issuing', 'issued', 'error')),
  tls_error text,
  tls_attempts integer NOT NULL DEFAULT 0,
  tls_next_attempt_at timestamptz,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  deleted_at timestamptz
);
CREATE UNIQUE INDEX domains_hostname_live_idx ON domains (hostname) WHERE deleted_at IS NULL;
CREATE INDEX domains_deployment_idx ON domains (deployment_id) WHERE deleted_at IS NULL;
CREATE INDEX domains_tenant_idx ON domains (tenant_id, id);
CREATE INDEX domains_check_due_idx ON domains (next_check_at) WHERE deleted_at IS NULL AND state = 'pending_verification';

CREATE TABLE certificates (
  id text PRIMARY KEY,
  hostname text NOT NULL,
  tenant_id text REFERENCES tenants(id),
  issuer text NOT NULL CHECK (issuer IN ('local_ca', 'acme')),
  cert_pem text NOT NULL,
  key_sealed text NOT NULL,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  superseded_at timestamptz
);
CREATE INDEX certificates_hostname_idx ON certificates (hostname, not_after);
CREATE INDEX certificates_live_idx ON certificates (id) WHERE superseded_at IS NULL;

CREATE TABLE acme_challenges (
  token text PRIMARY KEY,
  hostname text NOT NULL,
  key_authorization text NOT NULL,
  expires_at timestamptz NOT NULL
);

CREATE TABLE acme_accounts (
  directory_url text PRIMARY KEY,
  key_sealed text NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE acme_orders (
  id bigserial PRIMARY KEY,
  hostname text NOT NULL,
  tenant_id text REFERENCES tenants(id),
  domain_id text REFERENCES domains(id),
  reason text NOT NULL CHECK (reason IN ('issue', 'renew', 'demand')),
  state text NOT NULL CHECK (state IN ('pending', 'valid', 'invalid')),
  error text,
  lease_until timestamptz NOT NULL,
  created_at timestamptz NOT NULL,
  finished_at timestamptz
);
CREATE UNIQUE INDEX acme_orders_pending_idx ON acme_orders (hostname) WHERE state = 'pending';
CREATE INDEX acme_orders_created_idx ON acme_orders (created_at, tenant_id);
CREATE INDEX acme_orders_hostname_idx ON acme_orders (hostname, id);

CREATE TABLE certificate_revision (
  id integer PRIMARY KEY,
  revision bigint NOT NULL
);
INSERT INTO certificate_revision (id, revision) VALUES (1, 0);

CREATE TABLE local_ca (
  id integer PRIMARY KEY,
  name text NOT NULL,
  cert_pem text NOT NULL,
  key_sealed text NOT NULL,
  not_after timestamptz NOT NULL,
  created_at timestamptz NOT NULL
);
`;
