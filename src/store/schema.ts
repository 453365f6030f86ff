/**
 * The Drizzle description of Slipway's tables, used to build typed queries. The tables
 * themselves are created by the SQL in `migrations/`, which is written by hand to run
 * unchanged on PostgreSQL 15 and on PGlite (PostgreSQL 18 inside); keep the two in step:
 * test/house/schema-matches-migrations.test.ts compares this file with a migrated database
 * (columns, types, nullability, defaults, primary keys, unique constraints and indexes).
 * Index and constraint names here are the database's, though Drizzle never creates them.
 */
import type { DynamicReleaseManifest, HealthCheckSpec, InstanceState, ResourceSpec } from '../core/runtime.js';
import type { RuntimeOptions, StickySpec } from '../core/runtime-options.js';
import type { FrozenEnv } from '../core/env-vars.js';
import type { DomainKind, DomainState, TenantBranding, TenantState, TlsState } from '../core/states.js';
import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uniqueIndex } from 'drizzle-orm/pg-core';

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  createdAt: ts('created_at').notNull(),
  /** DNS label; the default tenant's is `default` (migration 0013). */
  slug: text('slug').notNull(),
  displayName: text('display_name').notNull(),
  state: text('state').$type<TenantState>().notNull().default('active'),
  branding: jsonb('branding').$type<TenantBranding>().notNull().default(sql`'{}'::jsonb`),
  suspendedAt: ts('suspended_at'),
  deletedAt: ts('deleted_at'),
}, (t) => [uniqueIndex('tenants_slug_live_idx').on(t.slug).where(sql`deleted_at IS NULL`)]);

export const projects = pgTable('projects', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  name: text('name').notNull(),
  externalWorkspaceId: text('external_workspace_id'),
  createdAt: ts('created_at').notNull(),
}, (t) => [index('projects_tenant_idx').on(t.tenantId, t.externalWorkspaceId)]);

export const apiKeys = pgTable('api_keys', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  projectId: text('project_id'),
  role: text('role').notNull(),
  name: text('name').notNull(),
  tokenHash: text('token_hash').notNull().unique('api_keys_token_hash_key'),
  createdAt: ts('created_at').notNull(),
  revokedAt: ts('revoked_at'),
}, (t) => [index('api_keys_tenant_idx').on(t.tenantId, t.id)]);

export const deployments = pgTable('deployments', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  projectId: text('project_id').notNull(),
  slug: text('slug').notNull(),
  name: text('name').notNull(),
  spaFallback: boolean('spa_fallback').notNull().default(false),
  nextVersionNumber: integer('next_version_number').notNull().default(1),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
  deletedAt: ts('deleted_at'),
}, (t) => [
  // A slug names one live deployment of a tenant; a deleted one frees it (migration 0013).
  uniqueIndex('deployments_slug_live_idx').on(t.tenantId, t.slug).where(sql`deleted_at IS NULL`),
  index('deployments_tenant_idx').on(t.tenantId, t.id),
]);

export const rings = pgTable('rings', {
  id: text('id').primaryKey(),
  deploymentId: text('deployment_id').notNull(),
  name: text('name').notNull(),
  activeVersionId: text('active_version_id'),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [unique('rings_deployment_id_name_key').on(t.deploymentId, t.name)]);

export const versions = pgTable('versions', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  deploymentId: text('deployment_id').notNull(),
  versionNumber: integer('version_number').notNull(),
  kind: text('kind').notNull(),
  state: text('state').notNull(),
  sourceSha256: text('source_sha256').notNull(),
  artifactSha256: text('artifact_sha256'),
  buildLogSha256: text('build_log_sha256'),
  buildCommand: text('build_command'),
  outputPath: text('output_path'),
  /** What the publish asked for: `auto`, `static` or `dynamic`; `kind` is what the build found. */
  requestedKind: text('requested_kind').notNull().default('auto'),
  runCommand: text('run_command'),
  port: integer('port'),
  /** `as_is`: the files as they are, nothing detected or built (a static site). */
  asIs: boolean('as_is').notNull().default(false),
  /** `static_include`: globs of files a static release keeps although its rules leave them out. */
  staticInclude: jsonb('static_include').$type<string[]>(),
  /** Runtime settings given at publish (health, resources, replicas), applied at rollout. */
  runtimeOptions: jsonb('runtime_options').notNull().default({}).$type<RuntimeOptions>(),
  /** The dynamic release's manifest, once built. */
  releaseManifest: jsonb('release_manifest').$type<DynamicReleaseManifest>(),
  /** The deployment's environment when the version was published; secrets stay sealed. */
  env: jsonb('env').notNull().default({}).$type<FrozenEnv>(),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  attempts: integer('attempts').notNull().default(0),
  createdBy: text('created_by').notNull(),
  idempotencyKey: text('idempotency_key'),
  createdAt: ts('created_at').notNull(),
  startedAt: ts('started_at'),
  finishedAt: ts('finished_at'),
  /** When garbage collection deleted the release (migration 0010); the record and snapshot stay. */
  artifactCollectedAt: ts('artifact_collected_at'),
}, (t) => [
  unique('versions_deployment_id_version_number_key').on(t.deploymentId, t.versionNumber),
  index('versions_pending_idx').on(t.state).where(sql`state IN ('queued', 'building')`),
]);

export const events = pgTable('events', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  deploymentId: text('deployment_id'),
  versionId: text('version_id'),
  type: text('type').notNull(),
  actor: text('actor').notNull(),
  reason: text('reason').notNull(),
  data: jsonb('data').notNull().$type<Record<string, unknown>>(),
  createdAt: ts('created_at').notNull(),
}, (t) => [index('events_deployment_idx').on(t.deploymentId, t.id)]);

export const operations = pgTable('operations', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  kind: text('kind').notNull(),
  state: text('state').notNull(),
  deploymentId: text('deployment_id'),
  versionId: text('version_id'),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  createdAt: ts('created_at').notNull(),
  finishedAt: ts('finished_at'),
});

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: text('tenant_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    state: text('state').notNull(),
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body').$type<unknown>(),
    createdAt: ts('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

export const services = pgTable('services', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  deploymentId: text('deployment_id').notNull(),
  type: text('type').notNull(),
  desiredReplicas: integer('desired_replicas').notNull(),
  health: jsonb('health').notNull().$type<HealthCheckSpec>(),
  resources: jsonb('resources').notNull().$type<ResourceSpec>(),
  sticky: jsonb('sticky').$type<StickySpec | null>(),
  crashLoopBudget: integer('crash_loop_budget').notNull(),
  drainTimeoutMs: integer('drain_timeout_ms').notNull(),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [unique('services_deployment_id_type_key').on(t.deploymentId, t.type)]);

export const runtimeInstances = pgTable('runtime_instances', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  deploymentId: text('deployment_id').notNull(),
  serviceId: text('service_id').notNull(),
  versionId: text('version_id').notNull(),
  hostId: text('host_id').notNull(),
  desired: text('desired').notNull().$type<'running' | 'stopped'>(),
  state: text('state').notNull().$type<InstanceState>(),
  address: text('address'),
  reason: text('reason').notNull().default(''),
  reasonCode: text('reason_code'),
  restartCount: integer('restart_count').notNull().default(0),
  failFast: boolean('fail_fast').notNull().default(false),
  logTail: text('log_tail'),
  unenforcedLimits: text('unenforced_limits'),
  /** Started by a request (a wake); stopped again once idle. */
  onDemand: boolean('on_demand').notNull().default(false),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [
  index('runtime_instances_version_idx').on(t.versionId),
  index('runtime_instances_live_idx').on(t.hostId).where(sql`state NOT IN ('stopped', 'failed')`),
  index('runtime_instances_deployment_idx').on(t.deploymentId, t.state),
]);

export const instanceLogs = pgTable('instance_logs', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: text('tenant_id').notNull(),
  deploymentId: text('deployment_id').notNull(),
  serviceId: text('service_id').notNull(),
  versionId: text('version_id').notNull(),
  runtimeInstanceId: text('runtime_instance_id').notNull(),
  hostId: text('host_id').notNull(),
  line: text('line').notNull(),
  createdAt: ts('created_at').notNull(),
}, (t) => [
  index('instance_logs_deployment_idx').on(t.deploymentId, t.id),
  index('instance_logs_service_idx').on(t.serviceId, t.id),
  index('instance_logs_instance_idx').on(t.runtimeInstanceId, t.id),
  index('instance_logs_created_idx').on(t.createdAt),
]);

export const envVars = pgTable(
  'env_vars',
  {
    tenantId: text('tenant_id').notNull(),
    deploymentId: text('deployment_id').notNull(),
    name: text('name').notNull(),
    secret: boolean('secret').notNull(),
    /** The value as given, or sealed when `secret`. */
    value: text('value').notNull(),
    updatedBy: text('updated_by').notNull(),
    createdAt: ts('created_at').notNull(),
    updatedAt: ts('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.name] })],
);

/** One row: the routing table's revision, shared by every server (migration 0009). */
export const routeRevision = pgTable('route_revision', {
  id: integer('id').primaryKey(),
  revision: bigint('revision', { mode: 'number' }).notNull(),
});

/** Which deployment's route each revision changed; pruned to the most recent ones. */
export const routeChanges = pgTable('route_changes', {
  revision: bigint('revision', { mode: 'number' }).primaryKey(),
  deploymentId: text('deployment_id').notNull(),
  createdAt: ts('created_at').notNull(),
});

/**
 * A host name a tenant claimed (migration 0013): `custom` serves one deployment, `tenant` is the
 * tenant's own base (`apps.example-brand.com`) under which every deployment of it is served.
 * Managed hosts are not rows: they follow from the slugs.
 */
export const domains = pgTable('domains', {
  id: text('id').primaryKey(),
  tenantId: text('tenant_id').notNull(),
  deploymentId: text('deployment_id'),
  kind: text('kind').$type<DomainKind>().notNull(),
  /** Lower-case ASCII (punycode), no trailing dot. */
  hostname: text('hostname').notNull(),
  state: text('state').$type<DomainState>().notNull(),
  verificationToken: text('verification_token').notNull(),
  verifiedBy: text('verified_by').$type<'dns' | 'http'>(),
  verifiedAt: ts('verified_at'),
  checkAttempts: integer('check_attempts').notNull().default(0),
  nextCheckAt: ts('next_check_at'),
  lastCheckedAt: ts('last_checked_at'),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  redirectTo: text('redirect_to'),
  httpsRedirect: boolean('https_redirect').notNull().default(false),
  hstsMaxAge: integer('hsts_max_age'),
  tlsState: text('tls_state').$type<TlsState>().notNull().default('none'),
  tlsError: text('tls_error'),
  tlsAttempts: integer('tls_attempts').notNull().default(0),
  tlsNextAttemptAt: ts('tls_next_attempt_at'),
  createdBy: text('created_by').notNull(),
  createdAt: ts('created_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
  deletedAt: ts('deleted_at'),
}, (t) => [
  uniqueIndex('domains_hostname_live_idx').on(t.hostname).where(sql`deleted_at IS NULL`),
  index('domains_deployment_idx').on(t.deploymentId).where(sql`deleted_at IS NULL`),
  index('domains_tenant_idx').on(t.tenantId, t.id),
  index('domains_check_due_idx').on(t.nextCheckAt).where(sql`deleted_at IS NULL AND state = 'pending_verification'`),
]);

/**
 * A certificate and its key (sealed like secrets, context `certificate:<id>`) for one host name
 * or a wildcard (`*.apps.example-brand.com`). A renewal inserts a new row and marks the old one
 * superseded; every edge gets the live ones through the internal certificate stream.
 */
export const certificates = pgTable('certificates', {
  id: text('id').primaryKey(),
  hostname: text('hostname').notNull(),
  tenantId: text('tenant_id'),
  issuer: text('issuer').$type<'local_ca' | 'acme'>().notNull(),
  certPem: text('cert_pem').notNull(),
  keySealed: text('key_sealed').notNull(),
  notBefore: ts('not_before').notNull(),
  notAfter: ts('not_after').notNull(),
  createdAt: ts('created_at').notNull(),
  supersededAt: ts('superseded_at'),
}, (t) => [
  index('certificates_hostname_idx').on(t.hostname, t.notAfter),
  index('certificates_live_idx').on(t.id).where(sql`superseded_at IS NULL`),
]);

/** HTTP-01 answers the edge serves at `/.well-known/acme-challenge/<token>` while an order is open. */
export const acmeChallenges = pgTable('acme_challenges', {
  token: text('token').primaryKey(),
  hostname: text('hostname').notNull(),
  keyAuthorization: text('key_authorization').notNull(),
  expiresAt: ts('expires_at').notNull(),
});

/** The ACME account key per directory (sealed, context `acme-account:<directory url>`), shared by every server. */
export const acmeAccounts = pgTable('acme_accounts', {
  directoryUrl: text('directory_url').primaryKey(),
  keySealed: text('key_sealed').notNull(),
  createdAt: ts('created_at').notNull(),
});

/**
 * Every ACME order placed (src/services/tls/acme-orders.ts): the rate limits count them, and a
 * `pending` row is the lease that lets one server at a time work on a host name.
 */
export const acmeOrders = pgTable('acme_orders', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  hostname: text('hostname').notNull(),
  tenantId: text('tenant_id'),
  domainId: text('domain_id'),
  reason: text('reason').$type<'issue' | 'renew' | 'demand'>().notNull(),
  state: text('state').$type<'pending' | 'valid' | 'invalid'>().notNull(),
  error: text('error'),
  leaseUntil: ts('lease_until').notNull(),
  createdAt: ts('created_at').notNull(),
  finishedAt: ts('finished_at'),
}, (t) => [
  uniqueIndex('acme_orders_pending_idx').on(t.hostname).where(sql`state = 'pending'`),
  index('acme_orders_created_idx').on(t.createdAt, t.tenantId),
  index('acme_orders_hostname_idx').on(t.hostname, t.id),
]);

/** One row: bumped in every transaction that changes `certificates`, so edges know to re-read. */
export const certificateRevision = pgTable('certificate_revision', {
  id: integer('id').primaryKey(),
  revision: bigint('revision', { mode: 'number' }).notNull(),
});

/**
 * The embedded local CA (migration 0013): at most one row (id 1), made by the first server to
 * start, its key sealed like secrets (context `local-ca`), so every server sharing the store
 * issues from the same CA.
 */
export const localCa = pgTable('local_ca', {
  id: integer('id').primaryKey(),
  name: text('name').notNull(),
  certPem: text('cert_pem').notNull(),
  keySealed: text('key_sealed').notNull(),
  notAfter: ts('not_after').notNull(),
  createdAt: ts('created_at').notNull(),
});

/** Every table, for `drizzle(client, { schema })`. */
export const schema = {
  tenants, projects, apiKeys, deployments, rings, versions, events, operations, idempotencyKeys, services, runtimeInstances, instanceLogs, envVars,
  routeRevision, routeChanges, domains, certificates, acmeChallenges, certificateRevision, acmeAccounts, acmeOrders, localCa,
};
