import type { Readable } from 'node:stream';
import type { RequestSpec } from './http-transport.js';

/** One file of a {@link FileMapSource}: text, raw bytes, or already base64-encoded content. */
export type FileMapEntry = string | Uint8Array | { content: string; encoding: 'base64' | 'utf8' };

/** A small site given as `path → content`, sent as JSON instead of an archive. */
export interface FileMapSource {
  files: Record<string, FileMapEntry>;
}

/** What can be published: a tar or tar.gz archive (bytes or a stream) or a file map. */
export type PublishSource = Uint8Array | Readable | ReadableStream<Uint8Array> | FileMapSource;

/** Options of a publish (docs/api.md#publish). */
export interface PublishOptions {
  /**
   * Hold the answer until the version is active or failed. Node's fetch gives up waiting for
   * response headers after 5 minutes, so for long builds prefer `waitForOperation` on the
   * 202 answer's operation.
   */
  wait?: boolean;
  /** The command that builds the source (`npm run build`). */
  buildCommand?: string;
  /** The folder to serve, relative to the source root (`dist`). */
  outputPath?: string;
  kind?: 'auto' | 'static' | 'dynamic';
  /** Makes the version a dynamic app: the command that starts it (`node server.js`). */
  runCommand?: string;
  /** The port the app listens on (it is also given `PORT`). */
  port?: number;
  /** Publish the files exactly as they are: no detection, no build, no `build_required` refusal. */
  asIs?: boolean;
  /**
   * Globs of files a static release keeps although its rules leave them out (package.json,
   * lockfiles, dotfiles, `node_modules/`, source maps): `['*.map', '.nojekyll']`.
   */
  staticInclude?: string[];
  /**
   * Runtime settings of a dynamic app, by their wire names (docs/api.md#publish):
   * `health_check_path`, `health_grace_period_ms`, `health_interval_ms`, `health_timeout_ms`,
   * `health_unhealthy_threshold`, `health_healthy_threshold`, `replicas`, `memory_mb`,
   * `cpu_millis`, `disk_mb`, `pids_max`, `crash_loop_budget`, `drain_timeout_ms`,
   * `sticky_cookie`, `sticky_header`, `sticky` (`auto` or `none`).
   */
  settings?: Partial<Record<PublishSetting, string | number>>;
  /** Makes a retried publish replay the first answer instead of building twice. */
  idempotencyKey?: string;
  /**
   * The archive's format. Bytes are sniffed (gzip starts with 1f 8b); a stream is taken to be
   * tar.gz, which is what {@link packDirectory} makes.
   */
  archiveType?: 'tar' | 'gzip';
  signal?: AbortSignal;
}

/** Names of the runtime settings a publish may carry. */
export const PUBLISH_SETTINGS = [
  'health_check_path', 'health_grace_period_ms', 'health_interval_ms', 'health_timeout_ms', 'health_unhealthy_threshold',
  'health_healthy_threshold', 'replicas', 'memory_mb', 'cpu_millis', 'disk_mb', 'pids_max', 'crash_loop_budget',
  'drain_timeout_ms', 'sticky_cookie', 'sticky_header', 'sticky',
] as const;
export type PublishSetting = (typeof PUBLISH_SETTINGS)[number];

function wireOptions(options: PublishOptions): Record<string, string | number | undefined> {
  return {
    build_command: options.buildCommand, output_path: options.outputPath, kind: options.kind,
    run_command: options.runCommand, port: options.port, ...(options.asIs ? { as_is: 'true' } : {}),
    ...(options.staticInclude?.length ? { static_include: options.staticInclude.join(',') } : {}), ...options.settings,
  };
}

function isFileMap(source: PublishSource): source is FileMapSource {
  return !(source instanceof Uint8Array) && 'files' in source && typeof source.files === 'object';
}

function encodeEntry(entry: FileMapEntry): string | { content: string; encoding: 'base64' } {
  if (typeof entry === 'string') return entry;
  if (entry instanceof Uint8Array) return { content: Buffer.from(entry).toString('base64'), encoding: 'base64' };
  if (entry.encoding === 'utf8') return entry.content;
  return { content: entry.content, encoding: 'base64' };
}

function archiveContentType(source: Uint8Array | Readable | ReadableStream<Uint8Array>, options: PublishOptions): string {
  const type = options.archiveType ?? (source instanceof Uint8Array && !(source[0] === 0x1f && source[1] === 0x8b) ? 'tar' : 'gzip');
  return type === 'tar' ? 'application/x-tar' : 'application/gzip';
}

/**
 * Builds the publish request: archives travel as the raw body with options in the query
 * string; a file map travels as JSON with the options in the body. `wait` and the
 * idempotency key are in the query and a header either way.
 */
export function buildPublishRequest(path: string, source: PublishSource, options: PublishOptions = {}): RequestSpec {
  const headers: Record<string, string> = {};
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  const spec: RequestSpec = {
    method: 'POST',
    path,
    headers,
    query: { wait: options.wait ? 'true' : undefined },
    signal: options.signal,
  };
  if (isFileMap(source)) {
    const files = Object.fromEntries(Object.entries(source.files).map(([name, entry]) => [name, encodeEntry(entry)]));
    spec.json = { files, ...wireOptions(options) };
    return spec;
  }
  headers['content-type'] = archiveContentType(source, options);
  const query = Object.fromEntries(Object.entries(wireOptions(options)).map(([k, v]) => [k, v === undefined ? undefined : String(v)]));
  spec.query = { ...spec.query, ...query };
  spec.body = source instanceof Uint8Array ? source : (source as RequestInit['body']);
  return spec;
}
