import type { DeploymentState, OperationState, VersionState } from '../core/states.js';
import type { deployments, events, operations, versions } from '../store/schema.js';
import type { ServicesConfig } from './context.js';

type DeploymentRow = typeof deployments.$inferSelect;
type VersionRow = typeof versions.$inferSelect;
type EventRow = typeof events.$inferSelect;
type OperationRow = typeof operations.$inferSelect;

/** Facts about a deployment's versions that its API view needs. */
export interface DeploymentFacts {
  activeVersionId: string | null;
  activeVersionNumber: number | null;
  hasPending: boolean;
  hasVersions: boolean;
  /** Why the newest version failed, when it did. */
  lastFailure: string | null;
  /** Set when a service runs fewer healthy instances than asked because some failed for good. */
  degraded: string | null;
  /** Why its running instances' hosts do not enforce their limits (one entry per reason). */
  unenforcedLimits: string[];
}

/** `http://<host>[:port]` as users reach the edge. */
export function edgeUrl(config: ServicesConfig, host: string): string {
  const defaultPort = config.publicScheme === 'https' ? 443 : 80;
  const port = config.publicPort === defaultPort ? '' : `:${config.publicPort}`;
  return `${config.publicScheme}://${host}${port}`;
}

/** The stable URL of a deployment. */
export function publicUrl(config: ServicesConfig, slug: string): string {
  return edgeUrl(config, `${slug}.${config.baseDomain}`);
}

function deploymentState(f: DeploymentFacts): DeploymentState {
  if (f.hasPending) return 'building';
  if (f.activeVersionId) return f.degraded ? 'degraded' : 'active';
  return f.hasVersions ? 'failed' : 'empty';
}

/** A sentence on why the state is what it is; null when nothing needs saying. */
function stateReason(f: DeploymentFacts, state: DeploymentState): string | null {
  if (state === 'degraded') return f.degraded;
  if (state === 'failed') return f.lastFailure;
  // Active, but the last publish failed: worth knowing, production is untouched.
  if (state === 'active' && f.lastFailure) return `the newest version failed and is not serving: ${f.lastFailure}`;
  return null;
}

/** The Deployment object of docs/api.md. */
export function presentDeployment(config: ServicesConfig, row: DeploymentRow, facts: DeploymentFacts) {
  const state = deploymentState(facts);
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    project_id: row.projectId,
    state,
    state_reason: stateReason(facts, state),
    warnings: facts.unenforcedLimits.map((why) => `memory, CPU and pids limits are not enforced for its instances: ${why}`),
    active_version_id: facts.activeVersionId,
    active_version_number: facts.activeVersionNumber,
    public_url: publicUrl(config, row.slug),
    spa_fallback: row.spaFallback,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** The Version object of docs/api.md. */
export function presentVersion(config: ServicesConfig, row: VersionRow, slug: string) {
  return {
    id: row.id,
    deployment_id: row.deploymentId,
    version_number: row.versionNumber,
    kind: row.kind,
    state: row.state as VersionState,
    source_sha256: row.sourceSha256,
    artifact_sha256: row.artifactSha256,
    artifact_uri: row.artifactSha256 ? `blob:sha256:${row.artifactSha256}` : null,
    // The record stays; the release went to garbage collection and a redeploy rebuilds it.
    artifact_collected: row.artifactCollectedAt !== null,
    preview_url: edgeUrl(config, `v${row.versionNumber}--${slug}.${config.baseDomain}`),
    build_command: row.buildCommand,
    output_path: row.outputPath,
    // Names only: which variables this version was published with, never their values.
    env: Object.keys(row.env ?? {}).sort().map((name) => ({ name, secret: row.env[name]!.secret })),
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    created_by: row.createdBy,
    idempotency_key: row.idempotencyKey,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

/** The Event object of docs/api.md. */
export function presentEvent(row: EventRow) {
  return {
    id: row.id,
    type: row.type,
    deployment_id: row.deploymentId,
    version_id: row.versionId,
    actor: row.actor,
    reason: row.reason,
    data: row.data,
    created_at: row.createdAt.toISOString(),
  };
}

/** The Operation object of docs/api.md. */
export function presentOperation(row: OperationRow) {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state as OperationState,
    deployment_id: row.deploymentId,
    version_id: row.versionId,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? '' } : null,
    created_at: row.createdAt.toISOString(),
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

export type DeploymentView = ReturnType<typeof presentDeployment>;
export type VersionView = ReturnType<typeof presentVersion>;
export type EventView = ReturnType<typeof presentEvent>;
export type OperationView = ReturnType<typeof presentOperation>;
