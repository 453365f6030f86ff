/**
 * The vocabulary of dynamic apps, shared by the build (which writes the release), the server
 * (which decides what runs where) and the agent (which runs it). docs/architecture.md §3 fixes the
 * instance states.
 */

/** Lifecycle of one runtime instance (docs/architecture.md §3). `failed` and `stopped` are terminal. */
export const INSTANCE_STATES = ['pending', 'starting', 'healthy', 'unhealthy', 'stopping', 'stopped', 'failed'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number];

/** States an instance never leaves. */
export const TERMINAL_INSTANCE_STATES: readonly InstanceState[] = ['stopped', 'failed'];

/** Service types (docs/architecture.md §1). Only `web` runs instances so far. */
export const SERVICE_TYPES = ['static_web', 'web', 'worker'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

/** How an instance is checked; every duration in milliseconds. */
export interface HealthCheckSpec {
  /** Path answered with 2xx by a healthy instance (default `/`). */
  path: string;
  /** After start, failures (5xx, refused connections) are tolerated this long (default 60 s). */
  grace_period_ms: number;
  /** Time between checks (default 1 s). */
  interval_ms: number;
  /** A check slower than this fails (default 2 s). */
  timeout_ms: number;
  /** Consecutive failures after the grace period that make an instance `unhealthy` (default 3). */
  unhealthy_threshold: number;
  /** Consecutive passes before a new instance counts as `healthy` (default 1). */
  healthy_threshold: number;
}

/** Limits of one instance. */
export interface ResourceSpec {
  /** Memory limit in MiB (default 512); exceeding it kills the instance (`oom_killed`). */
  memory_mb: number;
  /** CPU quota in thousandths of a core (default 1000 = one core). */
  cpu_millis: number;
  /** Size limit of the instance's writable tmp in MiB (default 1024). */
  disk_mb: number;
  /** Most processes and threads the instance may have at once (default 256). */
  pids_max: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckSpec = {
  path: '/',
  grace_period_ms: 60_000,
  interval_ms: 1_000,
  timeout_ms: 2_000,
  unhealthy_threshold: 3,
  healthy_threshold: 1,
};

export const DEFAULT_RESOURCES: ResourceSpec = { memory_mb: 512, cpu_millis: 1000, disk_mb: 1024, pids_max: 256 };

/**
 * Crash-loop backoff between restarts of one instance, for repeated failures: the first
 * failure after a healthy run restarts at once (docs/architecture.md §3, agent/restart-backoff.ts).
 */
export const RESTART_BACKOFF_MS = [1_000, 2_000, 5_000, 30_000, 300_000] as const;

/** Restarts after which an instance is `failed` for good (the crash-loop budget). */
export const DEFAULT_CRASH_LOOP_BUDGET = 5;

/**
 * The manifest (`release.json`) of a dynamic release. A dynamic release is a gzipped tar whose
 * first entry is this manifest and whose other entries, under `app/`, are the whole app tree
 * (dependencies included), so starting it needs no network.
 */
export interface DynamicReleaseManifest {
  format: 1;
  kind: 'dynamic';
  /** Run by `/bin/sh -c` in the app directory. */
  run_command: string;
  /** The port the app listens on; also given to it as `PORT`. */
  port: number;
  /** How the build was chosen, for humans: `node (npm)`, `python`, `explicit`. */
  detected: string;
  /**
   * Set for a release built from a Dockerfile: the image id (`sha256:…`, the image config's
   * digest). Such a release tar holds `image.tar` (the image as `docker save` writes it) instead
   * of `app/`, and `run_command` may be empty (the image's own command).
   */
  image?: string;
}

/** What an agent is told to run: one instance, everything it needs to start it. */
export interface InstanceAssignment {
  runtime_instance_id: string;
  deployment_id: string;
  service_id: string;
  version_id: string;
  version_number: number;
  slug: string;
  /** The release blob (a dynamic release tar). */
  artifact_sha256: string;
  /** The release's image id when it was built from a Dockerfile (runs on a container driver); null for a file tree. */
  image: string | null;
  run_command: string;
  port: number;
  /** The deployment's variables plus `PORT` and `SLIPWAY_*` metadata. */
  env: Record<string, string>;
  health: HealthCheckSpec;
  resources: ResourceSpec;
  crash_loop_budget: number;
  /** `running`: keep it up; `stopped`: drain it and stop it. */
  desired: 'running' | 'stopped';
  /** Drain time for in-flight requests before a stop kills it. */
  drain_timeout_ms: number;
  /** True while its version is being rolled out: the first exit fails it instead of a restart. */
  fail_fast: boolean;
  /** Restarts already spent (the agent continues counting from here after a re-adoption). */
  restart_count: number;
}

/** What an agent reports about one instance. */
export interface InstanceReport {
  runtime_instance_id: string;
  state: InstanceState;
  /** Where the edge reaches it (`10.66.0.6:3000` or `127.0.0.1:41234`); null until it listens. */
  address: string | null;
  /** Why it is in this state, in words (`exited with code 1`, `GET / answered 500`). */
  reason: string;
  /** A stable code for the reason (`exited`, `not_listening`, `health_check_failed`, `oom_killed`). */
  reason_code: string | null;
  restart_count: number;
  /** The last lines the instance printed, sent with a failure. */
  log_tail?: string;
  /**
   * Why the host does not hold this instance to its memory, CPU and pids limits (no usable
   * cgroups); null or absent when it does. Absent from agents older than the field.
   */
  unenforced_limits?: string | null;
}
