/**
 * The objects of the HTTP API exactly as they travel on the wire (docs/api.md#objects), so
 * field names stay snake_case. Inputs to the SDK's methods are camelCase options instead; the
 * client maps them to query strings, headers and bodies.
 */
import type { ErrorCode } from '../core/errors.js';
import type { DeploymentState, OperationState, VersionKind, VersionState } from '../core/states.js';

/** An ISO 8601 timestamp in UTC (`2026-11-22T10:00:00.000Z`). */
export type Timestamp = string;

/** "The live app": a slug, stable URLs and a pointer to the active version. */
export interface Deployment {
  id: string;
  slug: string;
  name: string;
  project_id: string;
  /**
   * `empty` before any version, `building` while one is queued or building, `active` when one
   * serves, `degraded` when it serves short of healthy instances because some crash-looped,
   * `failed` when all failed.
   */
  state: DeploymentState;
  /** Why, in a sentence: the newest version's failure, or which instance failed for good; null when all is well. */
  state_reason: string | null;
  /** What works less well than it should while it serves, e.g. resource limits its host does not enforce; empty when all is well. */
  warnings: string[];
  active_version_id: string | null;
  active_version_number: number | null;
  /** Where the active version is served (`http://my-site.localhost:8080`). */
  public_url: string;
  /** When true, unknown extension-less paths serve `/index.html`. */
  spa_fallback: boolean;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Why a version or an operation failed; `code` is usually a build code such as `build_failed`. */
export interface FailureInfo {
  code: ErrorCode;
  message: string;
}

/** One immutable build of a deployment, numbered 1, 2, 3… */
export interface Version {
  id: string;
  deployment_id: string;
  version_number: number;
  kind: VersionKind;
  state: VersionState;
  source_sha256: string;
  artifact_sha256: string | null;
  /** `blob:sha256:<hex>` once the release exists. */
  artifact_uri: string | null;
  /**
   * True when garbage collection deleted the release (retention): the version cannot be rolled
   * back to (`release_collected`); redeploying it builds it again from its snapshot.
   */
  artifact_collected: boolean;
  /** The version's own immutable host (`http://v3--my-site.localhost:8080`). */
  preview_url: string;
  build_command: string | null;
  output_path: string | null;
  /** The variables this version was published with: names only, never values. */
  env: Array<{ name: string; secret: boolean }>;
  /** Set only when `state` is `failed`. */
  error: FailureInfo | null;
  /** The API key id that published it. */
  created_by: string;
  idempotency_key: string | null;
  created_at: Timestamp;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

/** Every event type the API emits (docs/api.md#event). */
export const EVENT_TYPES = [
  'deployment.created',
  'deployment.updated',
  'deployment.deleted',
  'version.queued',
  'version.building',
  'version.ready',
  'version.failed',
  'deployment.promoted',
  'deployment.rolled_back',
  'rollout.deploying',
  'service.updated',
  'env.updated',
  'service.scaled_down',
  'instance.pending',
  'instance.starting',
  'instance.healthy',
  'instance.unhealthy',
  'instance.stopping',
  'instance.stopped',
  'instance.failed',
  'version.idle_stopped',
  'version.wake_failed',
  'version.artifact_collected',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A recorded state change: who did what, when and why. */
export interface SlipwayEvent {
  id: string;
  type: EventType;
  deployment_id: string;
  version_id: string | null;
  /** An API key id, or `system`. */
  actor: string;
  reason: string | null;
  data: Record<string, unknown>;
  created_at: Timestamp;
}

/** A long-running piece of work (a publish or a rollback), polled until it leaves `running`. */
export interface Operation {
  id: string;
  /** What the operation does, e.g. `publish`. */
  kind: string;
  state: OperationState;
  deployment_id: string;
  version_id: string | null;
  error: FailureInfo | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

/** The short form of an operation carried inside a publish answer. */
export interface OperationRef {
  id: string;
  state: OperationState;
}

/** A service of a deployment as listed in a publish answer (empty for static sites). */
export interface ServiceSummary {
  id: string;
  type: 'static_web' | 'web' | 'worker';
  state: string;
}

/** The answer to a publish: the deployment, the new version and whether it became active. */
export interface PublishResult {
  deployment: Deployment;
  version: Version;
  services: ServiceSummary[];
  /** True when this version is now the active one. */
  promoted: boolean;
  operation: OperationRef;
}

/** How a source would be built (`POST /api/v1/detect`): what was detected, each step, and why. */
export interface DetectResult {
  kind: 'static' | 'dynamic';
  /** The rule that matched (`vite`, `nextjs`, `python`, `static`, …; docs/detection.md). */
  detected: string;
  /** One line per choice, as in the build log. */
  reasons: string[];
  /** Package managers the host lacks, fetched for the build. */
  fetch_tools: string[];
  /** Install steps, each an argument vector. */
  install: string[][];
  build_command: string | null;
  /** Static: the folder published (null: the root, or the first the build makes of dist, build, out, public). */
  output_path: string | null;
  run_command: string | null;
  port: number | null;
  /** Dynamic: the only folder of the built tree that is packaged. */
  package_root: string | null;
}

/**
 * The answer to a rollback. docs/api.md calls it "Publish" but only publishes are documented
 * with an operation, so it is optional here.
 */
export type RollbackResult = Omit<PublishResult, 'operation'> & { operation?: OperationRef };

/** The answer of `GET /api/v1/healthz`. */
export interface Health {
  status: 'ok';
}

/** One page of a cursor-paginated list, newest first. */
export interface Page<T> {
  data: T[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  nextCursor: string | null;
}

/** Alias matching docs/api.md's name; {@link SlipwayEvent} avoids shadowing the DOM `Event`. */
export type Event = SlipwayEvent;

/** How a dynamic app is health-checked (docs/api.md#services); durations in milliseconds. */
export interface HealthCheck {
  path: string;
  grace_period_ms: number;
  interval_ms: number;
  timeout_ms: number;
  unhealthy_threshold: number;
  healthy_threshold: number;
}

/** Limits of each instance of a service. */
export interface Resources {
  memory_mb: number;
  cpu_millis: number;
  disk_mb: number;
  pids_max: number;
}

/** A deployment's service (`web` for a dynamic app). */
export interface Service {
  id: string;
  deployment_id: string;
  type: string;
  state: 'running' | 'starting' | 'degraded';
  desired_replicas: number;
  healthy_instances: number;
  health: HealthCheck;
  resources: Resources;
  /** null: the edge's own affinity cookie once there are two or more instances; `none`: round-robin. */
  sticky: { cookie: string } | { header: string } | 'none' | null;
  crash_loop_budget: number;
  drain_timeout_ms: number;
  created_at: string;
  updated_at: string;
}

/** One running copy of a dynamic release (docs/architecture.md §3 gives its states). */
export interface RuntimeInstance {
  id: string;
  deployment_id: string;
  service_id: string;
  version_id: string;
  host_id: string;
  desired: 'running' | 'stopped';
  state: 'pending' | 'starting' | 'healthy' | 'unhealthy' | 'stopping' | 'stopped' | 'failed';
  address: string | null;
  reason: string;
  reason_code: string | null;
  restart_count: number;
  /** False when its host cannot hold it to `memory_mb`, `cpu_millis` and `pids_max` (no usable cgroups). */
  limits_enforced: boolean;
  /** Why the limits are not enforced; null when they are. */
  unenforced_limits_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** Body of `PATCH /services/:id`; absent fields stay as they are. */
export interface UpdateServiceInput {
  desired_replicas?: number;
  health?: Partial<HealthCheck>;
  resources?: Partial<Resources>;
}

/** One line of a runtime instance's output (stdout or stderr). */
export interface LogLine {
  id: string;
  time: Timestamp;
  deployment_id: string;
  service_id: string;
  version_id: string;
  runtime_instance_id: string;
  host_id: string;
  line: string;
}

/** One of a deployment's environment variables; a secret's `value` is always null. */
export interface EnvVar {
  name: string;
  secret: boolean;
  value: string | null;
  /** The API key id that set it last. */
  updated_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A change to a deployment's environment, applied all or nothing. */
export interface UpdateEnvInput {
  /** name → plain value, or `{ value, secret: true }` for a write-only secret. */
  set?: Record<string, string | { value: string; secret?: boolean }>;
  unset?: string[];
}

/**
 * What `POST /api/v1/admin/gc` did, or with `dry_run` would do (docs/operations.md#disk-and-garbage-collection).
 */
export interface GcReport {
  dry_run: boolean;
  started_at: Timestamp;
  duration_ms: number;
  /** Versions whose releases were (would be) deleted; their records and snapshots stay. */
  versions: Array<{ id: string; deployment_id: string; version_number: number }>;
  /** Blobs no version names any more, older than the grace time: deleted (would be). */
  blobs: { count: number; bytes: number };
  /** Blobs kept. */
  kept_blobs: { count: number; bytes: number };
  /** Build trees, build logs and uploads left by crashes. */
  scratch: { entries: number; bytes: number };
  /** Images removed from the Docker engine (would be); zero without one. */
  images: { count: number; bytes: number };
  /** Images the Docker engine keeps. */
  kept_images: { count: number; bytes: number };
  /** BuildKit's build cache pruned (would be) to SLIPWAY_DOCKER_BUILD_CACHE_MAX_BYTES, and what stays. */
  build_cache: { bytes: number; kept_bytes: number };
  /** Why the Docker engine part was skipped (it did not answer), when it was. */
  docker_error?: string;
}

/** Cursor and page size of a list call (`limit` is 1–100, default 20). */
export interface ListOptions {
  limit?: number;
  cursor?: string;
}
