/**
 * The public surface of the Slipway TypeScript SDK: a typed client for the HTTP API
 * (docs/api.md), its error type, pagination and the directory packer the CLI publishes with.
 *
 * @example
 * import { createClient, packDirectory, SlipwayApiError } from './sdk/index.js';
 *
 * const client = createClient({ baseUrl: 'http://127.0.0.1:7070', token: 'sk_…' });
 * const result = await client.publish('my-site', await packDirectory('./site'), { wait: true });
 * console.log(`v${result.version.version_number} → ${result.deployment.public_url}`);
 */
export { createClient } from './create-client.js';
export type {
  ClientOptions,
  CreateDeploymentInput,
  FollowEventsOptions,
  ListDeploymentsOptions,
  ListOptions,
  RollbackOptions,
  RollbackTarget,
  SlipwayClient,
  UpdateDeploymentInput,
  WaitForOperationOptions,
} from './client.js';
export type { ApiKey, CreateKeyInput, CreatedApiKey, Project, Tenant, TenantsClient } from './tenants-client.js';
export type { Domain, DomainOptions, DomainsClient, HostAtTime } from './domains-client.js';
export { SlipwayApiError, isSlipwayApiError, type SlipwayApiErrorOptions } from './api-error.js';
export { paginate, collectAll } from './paginate.js';
export { parseSse, type ParseSseOptions, type SseMessage } from '../core/sse.js';
export { packDirectory, type PackDirectoryOptions } from './pack-directory.js';
export { PUBLISH_SETTINGS } from './publish-request.js';
export type { FileMapEntry, FileMapSource, PublishOptions, PublishSetting, PublishSource } from './publish-request.js';
export { EVENT_TYPES } from './types.js';
export type {
  Deployment,
  Event,
  EventType,
  FailureInfo,
  GcReport,
  Health,
  Operation,
  OperationRef,
  Page,
  PublishResult,
  DetectResult,
  RollbackResult,
  ServiceSummary,
  Service,
  RuntimeInstance,
  HealthCheck,
  Resources,
  UpdateServiceInput,
  EnvVar,
  UpdateEnvInput,
  LogLine,
  SlipwayEvent,
  Timestamp,
  Version,
} from './types.js';
