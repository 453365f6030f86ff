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
  state: z.enum(['empty', 'building', 'active', 'failed']),
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
  preview_url: z.string(),
  build_command: z.string().nullable(),
  output_path: z.string().nullable(),
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
  spa_fallback: z.boolean().optional(),
}).strict();

export const UpdateDeploymentBody = z.object({
  name: z.string().min(1).max(200).optional(),
  spa_fallback: z.boolean().optional(),
}).strict();

const BuildOptions = {
  build_command: z.string().min(1).max(4000).optional(),
  output_path: z.string().min(1).max(1000).optional(),
  kind: z.enum(['auto', 'static']).default('auto'),
};

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

export const EventsQuery = PageQuery.extend({ follow: z.enum(['true', 'false', '1', '0']).optional() });

/** `true` for the truthy spellings of a boolean query flag. */
export const flag = (v: string | undefined) => v === 'true' || v === '1';
