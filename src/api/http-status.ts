import type { ErrorCode } from '../core/errors.js';

/**
 * The only place error codes meet HTTP. Exhaustive by construction: adding a code to
 * ERROR_CODES without a status here fails the type check.
 */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_slug: 400,
  unsupported_media_type: 415,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  deployment_not_found: 404,
  version_not_found: 404,
  operation_not_found: 404,
  blob_not_found: 404,
  deployment_exists: 409,
  idempotency_key_reused: 409,
  idempotency_request_in_progress: 409,
  version_not_ready: 409,
  state_locked: 409,
  unsafe_archive: 400,
  invalid_archive: 400,
  payload_too_large: 413,
  archive_too_large: 413,
  too_many_files: 413,
  empty_source: 400,
  build_failed: 422,
  build_timeout: 422,
  build_output_too_large: 422,
  output_path_missing: 422,
  blob_corrupt: 500,
  interrupted: 500,
  internal_error: 500,
  unavailable: 503,
};
