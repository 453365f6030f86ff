/**
 * The one error type of Slipway. Every failure a user can see carries a stable string `code`
 * from {@link ERROR_CODES}; the HTTP status for each code lives only in the API layer
 * (`src/api/http-status.ts`), so domain code never speaks HTTP.
 */
export const ERROR_CODES = [
  // request shape
  'invalid_request',
  'invalid_json',
  'invalid_slug',
  'invalid_env_var',
  'invalid_hostname',
  'hostname_reserved',
  'unsupported_media_type',
  // auth
  'unauthorized',
  'forbidden',
  // lookups
  'not_found',
  'deployment_not_found',
  'version_not_found',
  'operation_not_found',
  'blob_not_found',
  'tenant_not_found',
  'key_not_found',
  'domain_not_found',
  // conflicts
  'deployment_exists',
  'tenant_exists',
  'tenant_suspended',
  'domain_exists',
  'domain_taken',
  'domain_not_removable',
  'idempotency_key_reused',
  'idempotency_request_in_progress',
  'version_not_ready',
  'release_collected',
  'state_locked',
  // uploads and archives
  'unsafe_archive',
  'invalid_archive',
  'payload_too_large',
  'archive_too_large',
  'too_many_files',
  'empty_source',
  // builds
  'build_failed',
  'build_timeout',
  'build_output_too_large',
  'output_path_missing',
  'dockerfile_requires_container_driver',
  'build_toolchain_missing',
  'run_command_missing',
  'build_required',
  'base_image_missing',
  // runtime
  'service_not_found',
  'instance_not_found',
  'health_check_failed',
  'instance_exited',
  'instance_not_listening',
  'instance_wrong_port',
  'instance_oom_killed',
  'rollout_timeout',
  'isolation_unavailable',
  'insufficient_storage',
  // certificates
  'acme_rate_limited',
  // integrity and internals
  'blob_corrupt',
  'secrets_key_mismatch',
  'interrupted',
  'internal_error',
  'unavailable',
] as const;

/** A stable, documented error code (see docs/api.md#errors). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Options for {@link SlipwayError}. */
export interface SlipwayErrorOptions {
  /** Structured facts a client can act on (a field name, a limit). Never secrets. */
  details?: Record<string, unknown>;
  /** The underlying error, kept for logs and stack traces. */
  cause?: unknown;
}

/** The single error type thrown across Slipway's modules. */
export class SlipwayError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SlipwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SlipwayError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** True when `err` is a {@link SlipwayError}, optionally with the given code. */
export function isSlipwayError(err: unknown, code?: ErrorCode): err is SlipwayError {
  return err instanceof SlipwayError && (code === undefined || err.code === code);
}

/**
 * Converts anything thrown into a SlipwayError once, at a boundary, keeping the original
 * as `cause` so its stack survives.
 */
export function toSlipwayError(err: unknown): SlipwayError {
  if (err instanceof SlipwayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SlipwayError('internal_error', message, { cause: err });
}
