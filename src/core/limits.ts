/** Size limits applied to uploads and unpacked sources. All are configurable by environment. */
export interface UploadLimits {
  /** Largest accepted request body, in bytes (`SLIPWAY_MAX_UPLOAD_BYTES`, default 100 MB). */
  maxUploadBytes: number;
  /** Largest total unpacked size, in bytes (`SLIPWAY_MAX_UNPACKED_BYTES`, default 1 GB). */
  maxUnpackedBytes: number;
  /** Most files in one source (`SLIPWAY_MAX_FILES`, default 50,000). */
  maxFiles: number;
  /**
   * Largest JSON request body, in bytes (`SLIPWAY_MAX_JSON_BODY_BYTES`, default 16 MiB). A JSON
   * body is parsed whole in memory; larger sources go as an archive, which is streamed.
   */
  maxJsonBodyBytes?: number;
}

/** Default of {@link UploadLimits.maxJsonBodyBytes}. */
export const DEFAULT_MAX_JSON_BODY_BYTES = 16 * 1024 * 1024;

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxUploadBytes: 100 * 1000 * 1000,
  maxUnpackedBytes: 1000 * 1000 * 1000,
  maxFiles: 50_000,
  maxJsonBodyBytes: DEFAULT_MAX_JSON_BODY_BYTES,
};

/**
 * Paths left out of every source snapshot (docs/architecture.md §2). Dependency folders and caches are
 * dropped at any depth; build outputs only at the root, so a project's own `src/build/` folder
 * survives. An explicit `output_path` with no `build_command` keeps its folder: it is the
 * prebuilt site.
 */
export const SNAPSHOT_EXCLUDED_ANYWHERE = ['node_modules', '.git', '__pycache__'] as const;

/** Excluded only as a path from the root of the source. */
export const SNAPSHOT_EXCLUDED_AT_ROOT = ['dist', 'build', 'target', '.next/cache'] as const;
