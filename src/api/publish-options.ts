import { SlipwayError } from '../core/errors.js';
import type { RuntimeOptions } from '../core/runtime-options.js';
import type { PublishOptions } from '../services/publish-service.js';
import type { PublishOptionsInput } from './schemas.js';

/**
 * Turns the flat wire options of a publish into the service's options. Contradictions are
 * refused here, before any upload is unpacked.
 */
export function toPublishOptions(o: PublishOptionsInput): PublishOptions {
  if (o.kind === 'static' && (o.run_command !== undefined || o.port !== undefined)) {
    throw new SlipwayError('invalid_request', 'kind static takes no run_command or port', { details: { field: o.run_command !== undefined ? 'run_command' : 'port' } });
  }
  const asIs = o.as_is === true || o.as_is === 'true' || o.as_is === '1';
  if (asIs && (o.kind === 'dynamic' || o.run_command !== undefined || o.build_command !== undefined || o.port !== undefined)) {
    const field = o.kind === 'dynamic' ? 'kind' : o.run_command !== undefined ? 'run_command' : o.build_command !== undefined ? 'build_command' : 'port';
    throw new SlipwayError('invalid_request', 'as_is publishes the files as they are: it takes no build_command, run_command, port or kind dynamic', { details: { field } });
  }
  if (o.sticky_cookie !== undefined && o.sticky_header !== undefined) {
    throw new SlipwayError('invalid_request', 'give sticky_cookie or sticky_header, not both', { details: { field: 'sticky_header' } });
  }
  if (o.sticky !== undefined && (o.sticky_cookie !== undefined || o.sticky_header !== undefined)) {
    throw new SlipwayError('invalid_request', 'give sticky (auto or none) or a sticky_cookie / sticky_header rule, not both', { details: { field: 'sticky' } });
  }
  const health = pick({
    path: o.health_check_path, grace_period_ms: o.health_grace_period_ms, interval_ms: o.health_interval_ms,
    timeout_ms: o.health_timeout_ms, unhealthy_threshold: o.health_unhealthy_threshold, healthy_threshold: o.health_healthy_threshold,
  });
  const resources = pick({ memory_mb: o.memory_mb, cpu_millis: o.cpu_millis, disk_mb: o.disk_mb, pids_max: o.pids_max });
  const runtime: RuntimeOptions = pick({
    health: Object.keys(health).length ? health : undefined,
    resources: Object.keys(resources).length ? resources : undefined,
    replicas: o.replicas,
    crash_loop_budget: o.crash_loop_budget,
    drain_timeout_ms: o.drain_timeout_ms,
    sticky: stickyOption(o),
  });
  return {
    kind: o.kind, buildCommand: o.build_command, outputPath: o.output_path, runCommand: o.run_command, port: o.port, runtime,
    ...(asIs ? { asIs } : {}),
    ...(o.static_include === undefined ? {} : { staticInclude: parseStaticInclude(o.static_include) }),
  };
}

/** `*.map, .nojekyll` → `['*.map', '.nojekyll']`; empty items are dropped. */
function parseStaticInclude(value: string): string[] {
  const globs = value.split(',').map((g) => g.trim()).filter((g) => g !== '');
  if (globs.length > 50 || globs.some((g) => g.length > 200)) {
    throw new SlipwayError('invalid_request', 'static_include takes at most 50 globs of at most 200 characters', { details: { field: 'static_include' } });
  }
  return globs;
}

/** The object without its undefined members, so stored options list only what was given. */
function pick<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/** The sticky rule a publish asks for: an app cookie or header, `none`, null for the edge's own (`auto`), or unchanged. */
function stickyOption(o: PublishOptionsInput): RuntimeOptions['sticky'] {
  if (o.sticky_cookie !== undefined) return { cookie: o.sticky_cookie };
  if (o.sticky_header !== undefined) return { header: o.sticky_header.toLowerCase() };
  if (o.sticky === 'none') return 'none';
  return o.sticky === 'auto' ? null : undefined;
}
