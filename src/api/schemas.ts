/**
 * Request and response schemas. They validate requests and generate the OpenAPI document,
 * so the two can never drift apart.
 */
import { z } from 'zod';

const isoTime = z.string().describe('ISO 8601 time');
const errorRef = z.object({ code: z.string(), message: z.string() }).nullable();

export const DeploymentSchema = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  project_id: z.string(),
  state: z.enum(['empty', 'building', 'active', 'degraded', 'failed']),
  state_reason: z.string().nullable().describe('why: the failure of the newest version, or which instance failed for good'),
  warnings: z.array(z.string()).describe('what works less well than it should, e.g. limits its host does not enforce'),
  active_version_id: z.string().nullable(),
  active_version_number: z.number().int().nullable(),
  public_url: z.string(),
  spa_fallback: z.boolean(),
  created_at: isoTime,
  updated_at: isoTime,
}).meta({ id: 'Deployment' });

export const VersionSchema = z.object({
  id: z.string(),
  deployment_id: z.string(),
  version_number: z.number().int(),
  kind: z.string(),
  state: z.enum(['queued', 'building', 'ready', 'failed']),
  source_sha256: z.string(),
  artifact_sha256: z.string().nullable(),
  artifact_uri: z.string().nullable(),
  artifact_collected: z.boolean().describe('the release was deleted by garbage collection: redeploy the version to build it again'),
  preview_url: z.string(),
  build_command: z.string().nullable(),
  output_path: z.string().nullable(),
  env: z.array(z.object({ name: z.string(), secret: z.boolean() })).describe('the variables this version was published with (names only)'),
  error: errorRef,
  created_by: z.string(),
  idempotency_key: z.string().nullable(),
  created_at: isoTime,
  started_at: isoTime.nullable(),
  finished_at: isoTime.nullable(),
}).meta({ id: 'Version' });

export const EventSchema = z.object({
  id: z.string(),
  type: z.string(),
  deployment_id: z.string().nullable(),
  version_id: z.string().nullable(),
  actor: z.string(),
  reason: z.string(),
  data: z.record(z.string(), z.unknown()),
  created_at: isoTime,
}).meta({ id: 'Event' });

export const OperationSchema = z.object({
  id: z.string(),
  kind: z.string(),
  state: z.enum(['running', 'succeeded', 'failed']),
  deployment_id: z.string().nullable(),
  version_id: z.string().nullable(),
  error: errorRef,
  created_at: isoTime,
  finished_at: isoTime.nullable(),
}).meta({ id: 'Operation' });

export const PublishResultSchema = z.object({
  deployment: DeploymentSchema,
  version: VersionSchema,
  services: z.array(z.object({ id: z.string(), type: z.string(), state: z.string() })),
  promoted: z.boolean(),
  operation: z.object({ id: z.string(), state: z.enum(['running', 'succeeded', 'failed']) }).optional(),
}).meta({ id: 'PublishResult' });

export const ErrorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()), request_id: z.string() }),
}).meta({ id: 'Error' });

/** `{ data: T }` */
export const one = <T extends z.ZodType>(schema: T) => z.object({ data: schema });
/** `{ data: T[], next_cursor }` */
export const page = <T extends z.ZodType>(schema: T) => z.object({ data: z.array(schema), next_cursor: z.string().nullable() });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).optional(),
});

export const DeploymentParams = z.object({ deployment: z.string().min(1).max(100) });
export const VersionParams = DeploymentParams.extend({ version: z.string().min(1).max(100) });

export const CreateDeploymentBody = z.object({
  slug: z.string().describe('DNS label, 1-63 of [a-z0-9-]'),
  name: z.string().min(1).max(200).optional(),
  project_id: z.string().optional(),
  external_workspace_id: z.string().min(1).max(200).optional().describe('put it in the project with this external id, made on first use'),
  spa_fallback: z.boolean().optional(),
}).strict();

export const UpdateDeploymentBody = z.object({
  name: z.string().min(1).max(200).optional(),
  spa_fallback: z.boolean().optional(),
}).strict();

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();
const ms = (min: number, max: number) => count(min, max).describe('milliseconds');

/**
 * Publish options, flat so that the query string of an archive upload and the JSON body of a
 * file map carry the same names. docs/api.md#publish documents each one.
 */
export const BuildOptions = {
  build_command: z.string().min(1).max(4000).optional(),
  output_path: z.string().min(1).max(1000).optional(),
  kind: z.enum(['auto', 'static', 'dynamic']).default('auto'),
  run_command: z.string().min(1).max(4000).optional().describe('makes the version dynamic: the command that starts the app'),
  as_is: z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).optional().describe('publish the files exactly as they are: no detection, no build (a static site)'),
  port: count(1, 65535).describe('the port the app listens on (also given as PORT)'),
  static_include: z.string().min(1).max(2000).regex(/^[^\0]*$/, 'must not contain NUL').optional()
    .describe('comma-separated globs of files a static release keeps although its rules leave them out (*.map,.nojekyll)'),
  health_check_path: z.string().min(1).max(1000).regex(/^\//, 'must start with /').optional(),
  health_grace_period_ms: ms(0, 3_600_000),
  health_interval_ms: ms(100, 300_000),
  health_timeout_ms: ms(100, 300_000),
  health_unhealthy_threshold: count(1, 100),
  health_healthy_threshold: count(1, 100),
  replicas: count(0, 100),
  memory_mb: count(16, 1_048_576),
  cpu_millis: count(10, 256_000),
  disk_mb: count(1, 1_048_576),
  pids_max: count(8, 1_000_000),
  crash_loop_budget: count(0, 1000),
  drain_timeout_ms: ms(0, 3_600_000),
  sticky_cookie: z.string().min(1).max(200).regex(/^[!#-'*+.0-9A-Z^-z|~-]+$/, 'must be a cookie name').optional(),
  sticky_header: z.string().min(1).max(200).regex(/^[!#-'*+.0-9A-Za-z^_`|~-]+$/, 'must be a header name').optional(),
  sticky: z.enum(['auto', 'none']).optional(),
};

/** The parsed publish options. */
export type PublishOptionsInput = z.infer<z.ZodObject<typeof BuildOptions>>;

export const PublishQuery = z.object({
  wait: z.enum(['true', 'false', '1', '0']).optional(),
  ...BuildOptions,
});

const FileValue = z.union([
  z.string(),
  z.object({ content: z.string(), encoding: z.enum(['utf8', 'base64']).default('utf8') }).strict(),
]);

export const PublishJsonBody = z.object({
  files: z.record(z.string(), FileValue),
  ...BuildOptions,
}).strict();

export const RollbackBody = z.union([
  z.object({ to: z.number().int().min(1) }).strict(),
  z.object({ version_id: z.string().min(1) }).strict(),
]);

export const RedeployBody = z.object({
  version: z.union([z.number().int().min(1), z.string().min(1)]).optional()
    .describe('the version (number or id) whose source to publish again; the active one when left out'),
}).strict();

/** `?external_workspace_id=`: only deployments of the project with that external id (a 404 for others). */
export const WorkspaceQuery = { external_workspace_id: z.string().min(1).max(200).optional() };

export const EventsQuery = PageQuery.extend({ follow: z.enum(['true', 'false', '1', '0']).optional(), ...WorkspaceQuery });

/** `true` for the truthy spellings of a boolean query flag. */
export const flag = (v: string | undefined) => v === 'true' || v === '1';
