/** Build state of a version (docs/architecture.md §3). `ready` means the release exists. */
export const VERSION_STATES = ['queued', 'building', 'ready', 'failed'] as const;
export type VersionState = (typeof VERSION_STATES)[number];

/** What a version is: a static file tree or a dynamic app. `auto` is only accepted as input. */
export const VERSION_KINDS = ['static', 'dynamic'] as const;
export type VersionKind = (typeof VERSION_KINDS)[number];

/** State of a long-running operation, polled through `GET /api/v1/operations/:id`. */
export const OPERATION_STATES = ['running', 'succeeded', 'failed'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

/** Rings a version moves through; a deployment starts with `production` only. */
export const RING_NAMES = ['dev', 'staging', 'production'] as const;
export type RingName = (typeof RING_NAMES)[number];

/**
 * A deployment's overall state, derived from its versions and services: `degraded` is active
 * with a service short of healthy instances because some spent their crash-loop budget.
 */
export const DEPLOYMENT_STATES = ['empty', 'building', 'active', 'degraded', 'failed'] as const;
export type DeploymentState = (typeof DEPLOYMENT_STATES)[number];

/** Roles an API key can carry. `internal` is for the edge and agents. */
export const API_KEY_ROLES = ['admin', 'member', 'internal'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];
