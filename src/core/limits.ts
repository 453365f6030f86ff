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

/**
 * Most bytes of one source the server holds in memory instead of on disk: an upload's checked
 * files (`SpillingTreeWriter`, within the server-wide pool of `api/upload.ts`) and a snapshot a
 * build reads whole (`build-worker.ts`, `snapshot-extract.ts`). A typical site fits, so its
 * publish needs no tree on disk; anything larger goes through disk as it streams, so a few
 * concurrent publishes and builds stay within the server's memory goal.
 */
export const IN_MEMORY_SOURCE_BYTES = 32 * 1024 * 1024;

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
