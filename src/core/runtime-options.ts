import type { HealthCheckSpec, ResourceSpec } from './runtime.js';

/**
 * How the edge keeps a client on one instance: by the value of a cookie or header of the app's
 * own, or `none` (plain round-robin). A service with no rule (null) gets the edge's own
 * affinity cookie whenever it runs more than one instance.
 */
export type StickySpec = { cookie: string } | { header: string } | 'none';

/**
 * Runtime settings a publish may carry. They are kept with the version and applied to the
 * deployment's `web` service when that version rolls out; anything left out keeps the
 * service's current value (or the default for a new service).
 */
export interface RuntimeOptions {
  health?: Partial<HealthCheckSpec>;
  resources?: Partial<ResourceSpec>;
  replicas?: number;
  sticky?: StickySpec | null;
  crash_loop_budget?: number;
  drain_timeout_ms?: number;
}

/** Drain time for old instances after a switch when nothing else is set. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
